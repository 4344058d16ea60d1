"""The counter's bookkeeping of which side of the line each track has been on, driven with
tracks made by hand (the tracker's own behaviour is tested in test_tracker.py)."""

from __future__ import annotations

import numpy as np

from edge.door.counter import CounterSettings, DoorCounter
from edge.door.tracker import Track

# A horizontal line at y=100; "in" is below it; +-10 px band; no downscaling.
SETTINGS = CounterSettings(line=((0.0, 100.0), (400.0, 100.0)), band=10.0, downscale=1)


def _track(track_id: int, x: float, y: float, observed: bool = True) -> Track:
    return Track(
        track_id,
        np.array([x, y, 0.0, 0.0]),
        np.eye(4),
        hits=5,
        confirmed=True,
        observed=observed,
    )


def _run(counter: DoorCounter, frames: list[list[Track]]) -> list[tuple[int, str]]:
    crossings: list[tuple[int, str]] = []
    for tracks in frames:
        counter.frame_index += 1
        crossings += [(c.track, c.direction) for c in counter._count(tracks)]
    return crossings


def test_a_track_born_in_the_band_where_one_was_just_lost_carries_on_its_side() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    walk_up = [[_track(1, 200, y)] for y in (60, 75, 88, 96)]  # from outside into the band
    # Lost there (merged with someone); a new track picks the person up a step further on.
    carried_on = [[_track(2, 205, y)] for y in (99, 104, 115, 130)]
    assert _run(counter, [*walk_up, [], *carried_on]) == [(2, "in")]
    assert (counter.ins, counter.outs) == (1, 0)


def test_a_track_born_in_the_band_with_nobody_lost_nearby_counts_nothing() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    elsewhere = [[_track(1, 20, y)] for y in (60, 75, 88, 96)]
    appears = [[_track(2, 300, y)] for y in (99, 104, 115, 130)]  # 280 px away
    assert _run(counter, [*elsewhere, [], *appears]) == []


def test_a_lost_side_is_forgotten_after_the_coasting_time() -> None:
    counter = DoorCounter(SETTINGS, 10.0)  # coast_s 0.8 at 10 frames/s: 8 frames
    walk_up = [[_track(1, 200, y)] for y in (60, 75, 88, 96)]
    appears_late = [[_track(2, 205, y)] for y in (99, 104, 115, 130)]
    assert _run(counter, walk_up + [[]] * 12 + appears_late) == []


def test_a_new_track_beside_a_coasting_one_takes_its_side() -> None:
    counter = DoorCounter(SETTINGS, 10.0)
    walk_up = [[_track(1, 200, y)] for y in (60, 75, 88, 96)]
    # Track 1 coasts unseen while a new track takes over its person in the band.
    took_over = [[_track(1, 200, 97, observed=False), _track(2, 204, y)] for y in (99, 112, 130)]
    assert _run(counter, walk_up + took_over) == [(2, "in")]
