"""Someone walking out of the camera's view just past the line, before they are a band
beyond it, has crossed: only part of them is in view at the frame's border, then too
little to be a person, and they cannot come back unseen. Someone walking into view within
the band came from the side of the line they appear on."""

from __future__ import annotations

import cv2
import numpy as np

from edge.door.blobs import Detection
from edge.door.counter import CounterSettings, DoorCounter
from edge.door.tracker import Track

FPS = 10.0


def _settings(line_y: int) -> CounterSettings:
    return CounterSettings(
        line=((20, line_y), (300, line_y)), band=20, person_area=900, downscale=1
    )


def _frame(rng: np.random.Generator, walker: tuple[int, int] | None) -> np.ndarray:
    noise = rng.normal(0, 2.0, (240, 320, 1))
    frame = np.clip(np.full((240, 320, 3), 150.0) + noise, 0, 255).astype(np.uint8)
    if walker is not None:
        cv2.ellipse(frame, walker, (20, 14), 0, 0, 360, (40, 40, 40), -1)
    return frame


def _count(line_y: int, path: list[tuple[int, int]]) -> tuple[int, int]:
    rng = np.random.default_rng(5)
    counter = DoorCounter(_settings(line_y), FPS)
    for _ in range(30):
        counter.process(_frame(rng, None))
    for point in path:
        counter.process(_frame(rng, point))
    for _ in range(20):  # out of view long enough for its track to end
        counter.process(_frame(rng, None))
    return counter.ins, counter.outs


DOWN = [(160, y) for y in range(60, 271, 5)]


def test_walking_out_of_view_just_past_a_line_near_the_border_crosses_it() -> None:
    reference = _count(120, DOWN)  # a line mid-frame: crossed well inside the view
    assert sum(reference) == 1
    # A line 18 px above the frame's foot: the centre of what is in view of the walker
    # never gets a band (20 px) past it.
    assert _count(222, DOWN) == reference


def test_walking_into_view_within_the_band_and_across_the_line_crosses_it() -> None:
    up = DOWN[::-1]
    reference = _count(120, up)
    assert sum(reference) == 1
    # First seen at the frame's foot, already within the band (below the line): they came
    # from below it, and are counted when they are a band beyond it.
    assert _count(222, up) == reference


def test_walking_out_of_view_sideways_before_the_line_crosses_nothing() -> None:
    # Down to 10 px short of the line, within its band, then out to the left.
    path = [(160, y) for y in range(60, 213, 5)] + [(x, 212) for x in range(160, -40, -6)]
    assert _count(222, path) == (0, 0)


def _at(track_id: int, y: float, box_bottom: int, confirmed: bool = True) -> Track:
    """A track at (200, y) whose blob reaches down to `box_bottom`."""
    box = (180, int(y) - 10, 40, box_bottom - int(y) + 10)
    return Track(
        track_id,
        np.array([200.0, y, 0.0, 0.0]),
        np.eye(4),
        hits=5 if confirmed else 2,
        confirmed=confirmed,
        last_seen=Detection(200.0, y, 800.0, box),
    )


def _counted(counter: DoorCounter, frames: list[list[Track]]) -> list[str]:
    counter._shape = (110, 400)  # a frame 110 px high: its foot is 10 px below the line
    crossings: list[str] = []
    for tracks in frames:
        counter.frame_index += 1
        crossings += [c.direction for c in counter._count(tracks)]
    return crossings


def test_a_straggler_the_group_counted_already_is_not_counted_again_out_of_view() -> None:
    # A horizontal line at y=100, "in" below it, a +-10 px band.
    settings = CounterSettings(line=((0.0, 100.0), (400.0, 100.0)), band=10.0, downscale=1)
    walk = [[_at(1, 80, 90)], [_at(1, 104, 110)], []]  # past the line, at the foot, gone
    assert _counted(DoorCounter(settings, 10.0), walk) == ["in"]
    credited = DoorCounter(settings, 10.0)
    _counted(credited, walk[:1])
    credited._states[1].credit = "in"  # left a group behind the group's crossing
    assert _counted(credited, walk[1:]) == []


def test_a_track_lost_just_past_the_line_away_from_the_border_counts_nothing() -> None:
    # Lost in the band, mid-view (merged into someone's blob, say): it may still turn back.
    settings = CounterSettings(line=((0.0, 100.0), (400.0, 100.0)), band=10.0, downscale=1)
    walk = [[_at(1, 80, 90)], [_at(1, 104, 100)], []]  # its blob ends 10 px above the foot
    assert _counted(DoorCounter(settings, 10.0), walk) == []


def test_a_blob_never_confirmed_as_someone_counts_nothing_out_of_view() -> None:
    settings = CounterSettings(line=((0.0, 100.0), (400.0, 100.0)), band=10.0, downscale=1)
    flicker = [[_at(1, 80, 90, confirmed=False)], [_at(1, 104, 110, confirmed=False)], []]
    assert _counted(DoorCounter(settings, 10.0), flicker) == []
