from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from edge.door.line import BAND, INSIDE, OUTSIDE, CountingLine, Direction, step

# A horizontal line across a 640x480 image, drawn left to right: "right" is below it.
LINE = CountingLine((100.0, 240.0), (540.0, 240.0), "right", band=20.0)


@pytest.mark.parametrize(
    ("point", "zone"),
    [
        ((320.0, 300.0), INSIDE),
        ((320.0, 180.0), OUTSIDE),
        ((320.0, 250.0), BAND),
        ((320.0, 221.0), BAND),
        ((90.0, 300.0), INSIDE),  # past p1, but within a band's width of the segment's end
        ((20.0, 300.0), None),  # well past the segment's end: the line says nothing
        ((620.0, 180.0), None),
    ],
)
def test_zone_of_points_around_a_horizontal_line(point: tuple[float, float], zone: int) -> None:
    assert LINE.zone(point) == zone


def test_half_is_the_side_a_point_is_on_within_the_band_too() -> None:
    assert [LINE.half((320.0, y)) for y in (300.0, 250.0, 230.0, 180.0)] == [
        INSIDE,
        INSIDE,
        OUTSIDE,
        OUTSIDE,
    ]


def test_left_in_side_flips_the_sign() -> None:
    left = CountingLine(LINE.p1, LINE.p2, "left", LINE.band)
    assert left.signed_distance((320, 300)) == -LINE.signed_distance((320, 300)) == -60


def test_right_of_a_line_drawn_bottom_to_top_is_the_right_of_the_screen() -> None:
    up = CountingLine((320.0, 400.0), (320.0, 80.0), "right", 0.0)
    assert up.signed_distance((400.0, 240.0)) == pytest.approx(80.0)


def test_surroundings_reach_as_far_across_the_line_as_past_its_ends() -> None:
    assert sorted(LINE.surroundings(30.0)) == [
        (70.0, 210.0),
        (70.0, 270.0),
        (570.0, 210.0),
        (570.0, 270.0),
    ]


def test_surroundings_of_a_slanted_line_are_square_to_it() -> None:
    slanted = CountingLine((0.0, 0.0), (30.0, 40.0), "left", 0.0)
    corners = slanted.surroundings(5.0)
    sides = [math.dist(a, b) for a, b in itertools.pairwise([*corners, corners[0]])]
    assert sides == pytest.approx([60.0, 10.0, 60.0, 10.0])
    assert [abs(slanted.signed_distance(c)) for c in corners] == pytest.approx([5.0] * 4)


@pytest.mark.parametrize("band", [-1.0])
def test_negative_band_is_rejected(band: float) -> None:
    with pytest.raises(ValueError, match="band"):
        CountingLine((0, 0), (10, 0), "right", band)


def test_points_too_close_are_rejected() -> None:
    with pytest.raises(ValueError, match="1 pixel"):
        CountingLine((5, 5), (5.5, 5), "right", 3)


def test_scaled_line_keeps_zones() -> None:
    half = LINE.scaled(0.5)
    assert half.band == 10 and half.p2 == (270.0, 120.0)
    assert half.zone((160, 150)) == INSIDE


def test_a_walk_in_counts_once_and_a_walk_back_counts_out() -> None:
    side, events = 0, []
    for y in [100, 150, 200, 230, 240, 250, 260, 270, 300, 350, 300, 240, 150]:
        side, crossing = step(side, LINE.zone((320, y)))
        if crossing:
            events.append(crossing)
    assert events == ["in", "out"]


def test_pausing_in_the_band_or_turning_back_counts_nothing() -> None:
    side, events = 0, []
    path = [100, 200, 225, 235, 245, 255, 250, 245, 255, 235, 200, 100]
    for y in path:
        side, crossing = step(side, LINE.zone((320, y)))
        if crossing:
            events.append(crossing)
    assert events == []


def test_a_track_born_inside_the_band_needs_to_leave_it_twice() -> None:
    assert step(0, BAND) == (0, None)
    assert step(0, INSIDE) == (INSIDE, None)
    assert step(INSIDE, None) == (INSIDE, None)
    assert step(INSIDE, OUTSIDE) == (OUTSIDE, "out")


lines = st.builds(
    lambda x1, y1, angle, length, side, band: CountingLine(
        (x1, y1),
        (x1 + length * math.cos(angle), y1 + length * math.sin(angle)),
        side,
        band,
    ),
    st.floats(0, 640),
    st.floats(0, 480),
    st.floats(0, 2 * math.pi),
    st.floats(20, 600),
    st.sampled_from(["left", "right"]),
    st.floats(1, 60),
)
offsets = st.lists(st.floats(-200, 200), min_size=1, max_size=60)


def _walk(line: CountingLine, along: float, offsets: list[float]) -> list[Direction]:
    """Walk a path at a fixed place along the line, given signed distances from it."""
    (x1, y1), (x2, y2) = line.p1, line.p2
    ux, uy = (x2 - x1) / line.length, (y2 - y1) / line.length
    nx, ny = (-uy, ux) if line.in_side == "right" else (uy, -ux)
    base = (x1 + ux * along * line.length, y1 + uy * along * line.length)
    side, events = 0, []
    for d in offsets:
        side, crossing = step(side, line.zone((base[0] + nx * d, base[1] + ny * d)))
        if crossing:
            events.append(crossing)
    return events


@given(lines, st.floats(0.05, 0.95), offsets)
def test_crossings_alternate_and_agree_with_where_the_walk_ends(
    line: CountingLine, along: float, path: list[float]
) -> None:
    # Points within rounding of the band's edge may fall either way; keep clear of them.
    assume(all(abs(abs(d) - line.band) > 1e-6 * (1 + line.band) for d in path))
    events = _walk(line, along, path)
    assert all(a != b for a, b in itertools.pairwise(events))
    net = events.count("in") - events.count("out")
    assert net in (-1, 0, 1)
    definite = [d for d in path if abs(d) > line.band]
    if not definite:
        assert events == []
    else:
        # The net count is where the walk last was (beyond the band) against where it was first.
        first, last = definite[0] > 0, definite[-1] > 0
        assert net == (int(last) - int(first))


@given(lines, st.floats(0.05, 0.95), offsets)
def test_a_walk_that_never_leaves_the_band_on_one_side_never_counts(
    line: CountingLine, along: float, path: list[float]
) -> None:
    kept_out = [min(d, line.band * 0.9) for d in path]
    assert _walk(line, along, kept_out) == []


@given(lines, st.floats(0.05, 0.95), st.floats(0, 1000))
def test_signed_distance_of_a_point_off_the_line_is_its_offset(
    line: CountingLine, along: float, offset: float
) -> None:
    (x1, y1), (x2, y2) = line.p1, line.p2
    ux, uy = (x2 - x1) / line.length, (y2 - y1) / line.length
    nx, ny = (-uy, ux) if line.in_side == "right" else (uy, -ux)
    point = (
        x1 + ux * along * line.length + nx * offset,
        y1 + uy * along * line.length + ny * offset,
    )
    assert line.signed_distance(point) == pytest.approx(offset, abs=1e-6 * (1 + offset))
    assert line.along(point) == pytest.approx(along, abs=1e-6)


def test_the_middle_is_halfway_along_and_on_the_line() -> None:
    line = CountingLine((600.0, 414.0), (75.0, 289.0), "left", 30.0)
    assert line.middle == (337.5, 351.5)
    assert line.along(line.middle) == pytest.approx(0.5)
    assert line.signed_distance(line.middle) == pytest.approx(0.0, abs=1e-9)
