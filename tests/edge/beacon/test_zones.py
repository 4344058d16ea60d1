"""Zone choice: strongest zone above its threshold, with hysteresis against flapping."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.beacon.zones import ZoneMap, ZoneTracker

ZONES = ZoneMap(
    scanners={"door": "entrance", "fr1": "fitting", "fr2": "fitting", "till": "checkout"},
    thresholds={"fitting": -70.0},
    default_threshold=-80.0,
    hysteresis_db=4.0,
)


@pytest.mark.parametrize(
    ("readings", "zone"),
    [
        ({"door": -60, "till": -75}, "entrance"),
        ({"door": -78, "till": -75}, "checkout"),
        ({"door": -85, "till": -81}, None),  # heard, but in no zone
        ({"fr1": -72, "door": -79}, "entrance"),  # fitting is stronger but below its -70
        ({"fr2": -65, "fr1": -90, "door": -68}, "fitting"),  # a zone is its best scanner
        ({"hall": -40, "till": -79}, "checkout"),  # unmapped scanners count for no zone
        ({"door": -70, "till": -70}, "checkout"),  # a tie goes to the first name
        ({}, None),
    ],
)
def test_new_beacon_goes_to_the_strongest_zone_above_its_threshold(
    readings: dict[str, float], zone: str | None
) -> None:
    assert ZONES.choose(None, readings) == zone


def test_a_beacon_stays_until_it_drops_the_hysteresis_below_the_threshold() -> None:
    assert ZONES.choose("fitting", {"fr1": -73.9}) == "fitting"  # entry -70, exit -74
    assert ZONES.choose(None, {"fr1": -73.9}) is None
    assert ZONES.choose("fitting", {"fr1": -74.1}) is None


def test_another_zone_takes_over_only_when_clearly_stronger() -> None:
    assert ZONES.choose("entrance", {"door": -66, "till": -63}) == "entrance"
    assert ZONES.choose("entrance", {"door": -66, "till": -62}) == "checkout"


def test_a_beacon_leaving_its_zone_moves_to_the_best_other_one() -> None:
    assert ZONES.choose("entrance", {"door": -90, "till": -79}) == "checkout"


def test_a_zone_nobody_hears_any_more_is_left() -> None:
    assert ZONES.choose("entrance", {"till": -90}) is None


def test_hysteresis_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="hysteresis_db"):
        ZoneMap(hysteresis_db=-1)


@given(
    st.floats(1.0, 10.0),
    st.lists(st.floats(-0.49, 0.49), min_size=2, max_size=80),
    st.floats(-70.0, -40.0),
)
def test_a_beacon_between_two_zones_does_not_flap(
    margin: float, wobble: list[float], level: float
) -> None:
    zones = ZoneMap(scanners={"a": "A", "b": "B"}, default_threshold=-80.0, hysteresis_db=margin)
    tracker = ZoneTracker(zones)
    seen = {tracker.update("x", {"a": level + w * margin, "b": level - w * margin}) for w in wobble}
    assert len(seen) == 1


def test_without_hysteresis_the_same_wobble_does_flap() -> None:
    """The control for the property above: the margin is what keeps the zone still."""
    zones = ZoneMap(scanners={"a": "A", "b": "B"}, default_threshold=-80.0, hysteresis_db=0.0)
    tracker = ZoneTracker(zones)
    seen = [tracker.update("x", {"a": -60 + w, "b": -60 - w}) for w in (1, -1, 1, -1)]
    assert seen == ["A", "B", "A", "B"]


@given(
    st.sampled_from([None, "entrance", "fitting", "checkout"]),
    st.dictionaries(st.sampled_from(["door", "fr1", "fr2", "till", "hall"]), st.floats(-127, 20)),
)
def test_the_chosen_zone_is_always_one_that_hears_the_beacon_well_enough(
    current: str | None, readings: dict[str, float]
) -> None:
    zone = ZONES.choose(current, readings)
    if zone is not None:
        strength = ZONES.strengths(readings)[zone]
        floor = ZONES.threshold(zone) - (ZONES.hysteresis_db if zone == current else 0)
        assert strength >= floor


def test_tracker_remembers_and_forgets_per_beacon() -> None:
    tracker = ZoneTracker(ZONES)
    assert tracker.update("x", {"door": -60}) == "entrance"
    assert tracker.update("x", {"door": -82}) == "entrance"  # held by hysteresis
    assert tracker.update("y", {"door": -82}) is None  # a newcomer is not
    tracker.forget("x")
    assert tracker.current("x") is None
    assert tracker.update("x", {"door": -82}) is None
