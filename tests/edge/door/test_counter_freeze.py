"""What the counter holds out of the background: people, even standing still; not a blob
that appeared where it stays (a ghost, a bag set down), which would otherwise never fade."""

from __future__ import annotations

import cv2
import numpy as np

from edge.door.counter import CounterSettings, DoorCounter

FPS = 10.0
SETTINGS = CounterSettings(line=((20, 120), (300, 120)), band=20, person_area=900, downscale=1)


def _floor(rng: np.random.Generator) -> np.ndarray:
    noise = rng.normal(0, 2.0, (240, 320, 1))
    return np.clip(np.full((240, 320, 3), 150.0) + noise, 0, 255).astype(np.uint8)


def _with_patch(rng: np.random.Generator) -> np.ndarray:
    frame = _floor(rng)
    cv2.rectangle(frame, (200, 100), (223, 123), (40, 40, 40), -1)
    return frame


def _with_walker(rng: np.random.Generator, y: int) -> np.ndarray:
    frame = _floor(rng)
    cv2.ellipse(frame, (160, y), (20, 14), 0, 0, 360, (40, 40, 40), -1)
    return frame


def _seen(counter: DoorCounter, frame: np.ndarray) -> int:
    return len(counter.process(frame).detections)


def test_a_blob_that_appeared_where_it_stays_fades_from_the_foreground() -> None:
    rng = np.random.default_rng(1)
    counter = DoorCounter(SETTINGS, FPS)
    for _ in range(30):
        counter.process(_floor(rng))
    seen = [_seen(counter, _with_patch(rng)) for _ in range(400)]
    assert seen[10] == 1  # found and followed at first
    assert counter._tracker is not None and not any(t.moved for t in counter._tracker.tracks)
    assert sum(seen[-100:]) == 0  # long gone, not held out of the background for good


def test_someone_who_walked_in_and_stands_still_stays_foreground() -> None:
    rng = np.random.default_rng(2)
    counter = DoorCounter(SETTINGS, FPS)
    for _ in range(30):
        counter.process(_floor(rng))
    for y in range(10, 111, 4):  # walks to just above the line, then stands for 40 s
        counter.process(_with_walker(rng, y))
    seen = [_seen(counter, _with_walker(rng, 110)) for _ in range(400)]
    assert all(n == 1 for n in seen)
