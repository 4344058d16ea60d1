"""Blobs are looked for in the counting zone and a body's length around it: a crowd
outside the zone that merges with someone on the threshold must not hide them."""

from __future__ import annotations

import cv2
import numpy as np

from edge.door.counter import CounterSettings, DoorCounter

FPS = 10.0
LINE_Y = 100  # the zone, 3 bands of 20 px, reaches from y 40 to 160
_CLOTHES = ((40, 40, 200), (200, 60, 40), (40, 160, 40))


def _frame(rng: np.random.Generator, walker: bool, crowd_from: int | None) -> np.ndarray:
    noise = rng.normal(0, 2.0, (240, 320, 1))
    frame = np.clip(np.full((240, 320, 3), 150.0) + noise, 0, 255).astype(np.uint8)
    if crowd_from is not None:  # people packed three abreast from there to the frame's foot
        for row, y in enumerate(range(crowd_from + 14, 240, 24)):
            for x in (130, 160, 190):
                cv2.ellipse(frame, (x, y), (20, 14), 0, 0, 360, _CLOTHES[(row + x) % 3], -1)
    if walker:  # someone on the line, touching the crowd
        cv2.ellipse(frame, (160, LINE_Y), (20, 14), 0, 0, 360, (30, 90, 150), -1)
    return frame


def _detections(walker: bool, crowd_from: int | None) -> list[tuple[int, int, int, int]]:
    rng = np.random.default_rng(3)
    settings = CounterSettings(
        line=((20, LINE_Y), (300, LINE_Y)), band=20, person_area=900, downscale=1
    )
    counter = DoorCounter(settings, FPS)
    for _ in range(30):
        counter.process(_frame(rng, False, None))
    return [d.box for d in counter.process(_frame(rng, walker, crowd_from)).detections]


def test_someone_on_the_line_merged_with_a_crowd_outside_the_zone_is_still_seen() -> None:
    # The whole blob's centre is beyond the zone (y 160): it would be dropped whole.
    [(x, y, w, h)] = _detections(walker=True, crowd_from=LINE_Y + 10)
    assert x <= 160 <= x + w and y <= LINE_Y - 14  # it holds the walker, head to foot
    assert y + h < 239  # cut where the zone's surroundings end, not at the crowd's end


def test_a_crowd_beyond_the_zone_is_not_seen_though_it_reaches_into_its_surroundings() -> None:
    assert _detections(walker=False, crowd_from=165) == []
