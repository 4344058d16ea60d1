"""Throttling: first sighting, zone change, then at most one event per interval."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.beacon.throttle import SightingThrottle

Step = tuple[str, str | None, float]  # beacon, zone, seconds since the previous step
steps_st = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from([None, "entrance", "fitting"]),
        st.floats(0.0, 7.0),
    ),
    max_size=200,
)


@given(st.floats(0.5, 30.0), steps_st)
def test_never_two_sightings_of_one_beacon_within_the_interval_unless_its_zone_changed(
    interval: float, steps: list[Step]
) -> None:
    throttle = SightingThrottle(interval)
    now = 0.0
    published: dict[str, tuple[float, str | None]] = {}
    for beacon, zone, gap in steps:
        now += gap
        if throttle.admit(beacon, zone, now):
            if beacon in published:
                last_at, last_zone = published[beacon]
                assert now - last_at >= interval or zone != last_zone
            published[beacon] = (now, zone)


@given(st.floats(0.5, 30.0), steps_st)
def test_first_sightings_zone_changes_and_due_heartbeats_are_all_published(
    interval: float, steps: list[Step]
) -> None:
    throttle = SightingThrottle(interval)
    now = 0.0
    published: dict[str, tuple[float, str | None]] = {}
    for beacon, zone, gap in steps:
        now += gap
        last = published.get(beacon)
        due = last is None or last[1] != zone or now - last[0] >= interval
        assert throttle.admit(beacon, zone, now) is due
        if due:
            published[beacon] = (now, zone)


def test_a_steady_beacon_is_published_once_per_interval() -> None:
    throttle = SightingThrottle(10.0)
    admitted = [t / 10 for t in range(0, 600) if throttle.admit("a", "floor", t / 10)]
    assert admitted == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]


def test_a_forgotten_beacon_is_new_again() -> None:
    throttle = SightingThrottle(10.0)
    assert throttle.admit("a", None, 0.0)
    assert not throttle.admit("a", None, 1.0)
    throttle.forget("a")
    assert throttle.admit("a", None, 2.0)


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval"):
        SightingThrottle(0)
