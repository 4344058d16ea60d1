from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np
import pytest

from edge.door.blobs import BlobSettings, PersonSize, clean, detect, off_axis_gain, people_in

# One person is an ellipse of half-axes 20 (across the line, x) by 14 (along it, y).
ONE = np.zeros((240, 320), np.uint8)
cv2.ellipse(ONE, (160, 120), (20, 14), 0, 0, 360, 255, -1)
AREA = float(np.count_nonzero(ONE))
SETTINGS = BlobSettings(PersonSize(AREA, 120, 240, 1.0, 14 / 20), across=(1.0, 0.0))


def _mask(*ellipses: tuple[int, int, int, int]) -> np.ndarray:
    mask = np.zeros((240, 320), np.uint8)
    for x, y, a, b in ellipses:
        cv2.ellipse(mask, (x, y), (a, b), 0, 0, 360, 255, -1)
    return mask


def test_one_person_is_one_detection_of_one() -> None:
    (d,) = detect(ONE, SETTINGS)
    assert d.people == 1 and (round(d.x), round(d.y)) == (160, 120)
    assert d.area == AREA


def test_two_abreast_merged_into_one_blob_count_as_two() -> None:
    (d,) = detect(_mask((140, 120, 20, 14), (178, 120, 20, 14)), SETTINGS)
    assert d.people == 2


def test_a_big_person_is_still_one() -> None:
    # 1.5 times the area, the same shape: a tall person close to an overhead camera.
    (d,) = detect(_mask((160, 120, 24, 17)), SETTINGS)
    assert d.people == 1


def test_small_blobs_are_ignored() -> None:
    assert detect(_mask((50, 50, 6, 6)), SETTINGS) == []


def test_a_blob_holding_two_tracked_people_is_split_between_them() -> None:
    mask = _mask((140, 120, 20, 14), (178, 120, 20, 14))
    found = detect(mask, SETTINGS, seeds=[(138, 121), (181, 119)])
    assert len(found) == 2 and all(d.shared for d in found)
    xs = sorted(round(d.x) for d in found)
    assert abs(xs[0] - 140) <= 3 and abs(xs[1] - 178) <= 3


def test_keep_rejects_blobs_outside_the_zone() -> None:
    mask = _mask((60, 60, 20, 14), (200, 180, 20, 14))
    found = detect(mask, SETTINGS, keep=lambda x, y: y > 120)
    assert [(round(d.x), round(d.y)) for d in found] == [(200, 180)]


@pytest.mark.parametrize(
    ("area", "across", "along", "people"),
    [
        (1.0, 1.0, 1.0, 1),
        (1.6, 1.2, 1.2, 1),
        (1.95, 1.3, 1.3, 2),
        (1.4, 2.0, 1.0, 2),  # wide for one, big enough for two: two abreast, overlapping
        (1.1, 2.0, 1.0, 1),  # wide but too small for two: arms out, a bag
        (2.5, 1.0, 1.0, 3),
        (3.5, 1.0, 1.0, 4),
        (5.2, 3.4, 2.2, 6),  # three abreast, two deep: six
        (4.1, 3.4, 2.2, 4),  # as wide and deep, but staggered: room for six, area for four
    ],
)
def test_head_count_from_area_and_spread(
    area: float, across: float, along: float, people: int
) -> None:
    one_across, one_along = SETTINGS.size.spreads(160, 120)
    assert (
        people_in(area * AREA, across * one_across, along * one_along, 160, 120, SETTINGS) == people
    )


def test_clean_closes_gaps_in_a_body_and_drops_thin_lines() -> None:
    mask = _mask((160, 120, 20, 14))
    mask[118:123, 140:181] = 0  # a gap across the body
    mask[20:22, 10:300] = 255  # a thin line along a lighting edge
    cleaned = clean(mask, SETTINGS.size)
    assert cleaned[120, 160] == 255
    assert cleaned[21, 150] == 0


def test_perspective_grows_the_expected_area_down_the_image() -> None:
    size = PersonSize(1000.0, 120, 240, perspective=4.0)
    assert size.at(50, 120) == 1000.0
    assert size.at(50, 240) == pytest.approx(2000.0)
    assert size.at(300, 0) == pytest.approx(500.0)


def test_a_wide_lens_makes_people_off_its_axis_look_bigger() -> None:
    focal = 200.0
    centre = (160.0, 120.0)
    off = (160.0 + focal * math.tan(math.radians(31)), 120.0)  # 31 degrees off axis
    assert off_axis_gain(centre, centre, centre, focal) == 1.0
    assert off_axis_gain(off, centre, centre, focal) == pytest.approx(1.59, abs=0.01)
    assert off_axis_gain(centre, off, centre, focal) == pytest.approx(1 / 1.59, abs=0.01)
    assert off_axis_gain(off, centre, centre, 0.0) == 1.0  # lens unknown


def test_one_person_off_a_wide_lens_s_axis_is_one_not_two() -> None:
    # The line's middle on the lens's axis; someone 31 degrees off it, twice the area.
    on_axis = PersonSize(AREA, 120, 240, 1.0, 14 / 20, centre=(160, 120), reference=(160, 120))
    wide = replace(on_axis, focal=140 / math.tan(math.radians(31)))
    mask = np.zeros((240, 400), np.uint8)
    cv2.ellipse(mask, (300, 120), (29, 20), 0, 0, 360, 255, -1)
    assert np.count_nonzero(mask) == pytest.approx(2.07 * AREA, rel=0.03)
    (seen_as_flat,) = detect(mask, BlobSettings(on_axis, across=(1.0, 0.0)))
    (through_the_lens,) = detect(mask, BlobSettings(wide, across=(1.0, 0.0)))
    assert (seen_as_flat.people, through_the_lens.people) == (2, 1)


# Seen from straight above, someone far from the image's centre (160, 120) shows their side:
# a strip as wide as their body, along the ray from the centre (here along x).
OVERHEAD = PersonSize(AREA, 120, 240, 1.0, 14 / 20, radial=0.01, radial_from=20, centre=(160, 120))


def test_overhead_people_grow_only_beyond_where_their_side_shows() -> None:
    assert OVERHEAD.at(170, 125) == AREA
    assert OVERHEAD.at(160, 70) == pytest.approx(AREA * 1.3)  # 30 pixels beyond: 30 % more
    assert OVERHEAD.at(160, 50) == pytest.approx(AREA * 1.5)
    assert OVERHEAD.at(230, 120) == pytest.approx(AREA * 1.5)


def test_overhead_people_stretch_along_the_ray_from_the_centre() -> None:
    centre_across, centre_along = OVERHEAD.spreads(160, 120)
    across, along = OVERHEAD.spreads(270, 120)  # out along x, the line's direction
    assert across > 1.3 * centre_across and along == pytest.approx(centre_along)
    across, along = OVERHEAD.spreads(160, 20)  # out along y, across the line
    assert along > 1.3 * centre_along and across == pytest.approx(centre_across)


def test_someone_showing_their_side_far_out_is_one_person_not_two() -> None:
    # 110 pixels right of the image's centre (60, 120): body and side, 1.7 times one
    # person's area and as wide as two abreast along the line.
    mask = _mask((170, 120, 20, 14))
    cv2.rectangle(mask, (170, 108), (212, 132), 255, -1)
    (flat,) = detect(mask, SETTINGS)
    assert flat.people == 2  # without the overhead model: two abreast
    growth = (flat.area / AREA - 1) / 110
    overhead = PersonSize(AREA, 120, 240, 1.0, 14 / 20, radial=growth, centre=(60, 120))
    seen_from_above = BlobSettings(overhead, across=(1.0, 0.0))
    (seen,) = detect(mask, seen_from_above)
    assert seen.people == 1
    # Two people abreast there are still two (the outer one shows more of their side).
    pair = _mask((170, 120, 20, 14), (210, 120, 20, 14))
    cv2.rectangle(pair, (170, 108), (267, 132), 255, -1)
    (two,) = detect(pair, seen_from_above)
    assert two.people == 2


def test_a_crowd_outside_merged_with_tracked_people_on_the_line_keeps_them() -> None:
    # Two people on the line (y=120) whose blob runs into a crowd far outside (y<60): the
    # blob's centre is out of the zone, but the shares of the people on the line are not.
    mask = _mask((140, 120, 20, 14), (178, 120, 20, 14), (160, 40, 45, 40))
    mask[78:110, 156:165] = 255  # a bridge of arms and shadows

    def keep_near_line(x: float, y: float) -> bool:
        return abs(y - 120) < 30

    assert detect(mask, SETTINGS, keep=keep_near_line) == []  # untracked: one far blob
    found = detect(mask, SETTINGS, seeds=[(140, 120), (178, 120), (160, 40)], keep=keep_near_line)
    assert len(found) == 2
    for d, x in zip(sorted(found, key=lambda d: d.x), (140, 178), strict=True):
        assert abs(d.x - x) < 6 and keep_near_line(d.x, d.y)


def test_a_small_blob_narrower_than_shoulders_is_not_a_person() -> None:
    # Half a person's area either way: long and narrow (a dog) is dropped, a person's
    # width but shallow (someone fading against the floor) is kept.
    assert detect(_mask((160, 120, 8, 18)), SETTINGS) == []
    (d,) = detect(_mask((160, 120, 18, 8)), SETTINGS)
    assert d.people == 1
