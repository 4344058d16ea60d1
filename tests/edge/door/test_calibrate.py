from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np
import pytest

from edge.door.blobs import Detection
from edge.door.calibrate import measure_person, radial_growth
from edge.door.counter import CounterSettings

CENTRE = (320.0, 240.0)


def _at(r: float, area: float) -> Detection:
    x, y = CENTRE[0] + r * math.cos(1.0), CENTRE[1] + r * math.sin(1.0)
    return Detection(x, y, area, (int(x) - 20, int(y) - 20, 40, 40))


def test_growth_beyond_where_the_side_shows_is_measured_from_the_outer_half() -> None:
    # 2,000 pixels up to 50 from the centre, then 1 % more per pixel; one frame merged with
    # a shadow (twice the area) does not move the medians.
    walk = [_at(r, 2000.0 * (1 + 0.01 * max(0.0, r - 50))) for r in range(0, 160, 5)]
    walk.append(_at(150, 8000.0))
    assert radial_growth(walk, CENTRE, 50.0, 2000.0) == pytest.approx(0.01, rel=0.1)


def test_no_growth_without_enough_walker_out_there_or_when_they_shrink() -> None:
    near = [_at(r, 2000.0 + 10 * r) for r in range(0, 70, 5)]
    assert radial_growth(near, CENTRE, 50.0, 2000.0) == 0.0  # three frames beyond: too few
    shrinking = [_at(r, 2000.0 - 5 * r) for r in range(0, 160, 5)]
    assert radial_growth(shrinking, CENTRE, 50.0, 2000.0) == 0.0


def test_growth_is_capped_at_what_a_persons_side_can_add() -> None:
    runaway = [_at(r, 2000.0 * (1 + 0.5 * r)) for r in range(60, 160, 5)]
    assert radial_growth(runaway, CENTRE, 50.0, 2000.0) == 0.05


def _floor(rng: np.random.Generator) -> np.ndarray:
    noise = rng.normal(0, 2.0, (240, 320, 1))
    return np.clip(np.full((240, 320, 3), 150.0) + noise, 0, 255).astype(np.uint8)


# The walk test's guess: a line across the middle of a 320x240 frame.
GUESS = CounterSettings(line=((20, 120), (300, 120)), band=20, person_area=900, downscale=1)
WALKER = math.pi * 20 * 14  # an ellipse of 20x14 half-axes


def _walk_down(rng: np.random.Generator, x: int) -> list[np.ndarray]:
    """An empty floor for 3 s, then a walker going down the frame at column `x`."""
    frames = [_floor(rng) for _ in range(30)]
    for y in range(10, 231, 4):
        frame = _floor(rng)
        cv2.ellipse(frame, (x, y), (20, 14), 0, 0, 360, (40, 40, 40), -1)
        frames.append(frame)
    return frames


def test_the_walk_test_measures_the_walker_not_something_standing_still() -> None:
    # A walker (an ellipse of 20x14 half-axes) crosses the line; then, next to the line, a
    # smaller blob appears and stays (a ghost, a bag left behind) for twice as long.
    rng = np.random.default_rng(3)
    frames = _walk_down(rng, 160)
    for _ in range(120):
        frame = _floor(rng)
        cv2.rectangle(frame, (190, 130), (209, 149), (40, 40, 40), -1)
        frames.append(frame)
    person = measure_person(frames, GUESS, 10.0)
    assert person.area == pytest.approx(WALKER, rel=0.15)
    assert person.samples <= 21  # the frames with the walker within two bands (40 px)


def test_the_walk_test_off_a_wide_lens_s_axis_measures_one_person_at_the_line_s_middle() -> None:
    # The line's middle is the image's centre, on the lens's axis; the walker crosses 120 px
    # off it, where a 90-degree lens (focal length 160 px) makes them 1.95 times as big.
    frames = _walk_down(np.random.default_rng(4), 280)
    flat = measure_person(frames, GUESS, 10.0)
    assert flat.area == pytest.approx(WALKER, rel=0.15)
    wide = measure_person(frames, replace(GUESS, field_of_view=90.0), 10.0)
    assert wide.area == pytest.approx(WALKER / (1 + (120 / 160) ** 2) ** 1.5, rel=0.15)
