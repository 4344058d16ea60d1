"""Someone walking out of the camera's view just past the line, before they are a band
beyond it, has crossed: only part of them is in view at the frame's border, then too
little to be a person, and they cannot come back unseen."""

from __future__ import annotations

import cv2
import numpy as np

from edge.door.counter import CounterSettings, DoorCounter

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


def test_walking_out_of_view_sideways_before_the_line_crosses_nothing() -> None:
    # Down to 10 px short of the line, within its band, then out to the left.
    path = [(160, y) for y in range(60, 213, 5)] + [(x, 212) for x in range(160, -40, -6)]
    assert _count(222, path) == (0, 0)
