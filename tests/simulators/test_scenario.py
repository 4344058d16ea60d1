from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TypeVar

import msgspec
import pytest

from simulators.batching import batch_emissions
from simulators.catalog import generate_catalog
from simulators.population import SimMember, SimStaff, generate_members, generate_staff
from simulators.scenario import DEVICES, Scenario, ScenarioConfig, build_scenario
from simulators.visits import FITTING_ROOMS
from storesense.protocol.decode import decode_events
from storesense.protocol.eid import WINDOW_SECONDS, eid_for_window
from storesense.protocol.events import (
    BeaconSighting,
    DoorCrossing,
    PosSale,
    RfidTag,
    encode_events,
)
from tests.simulators.gs1 import decode_sgtin96, is_sgtin96

T = TypeVar("T")
START_MS = 1_780_000_000_000  # 2026-05-28T20:26:40Z


@dataclass(frozen=True)
class Day:
    config: ScenarioConfig
    members: list[SimMember]
    staff: list[SimStaff]
    scenario: Scenario


def simulate(seed: int, *, hours: float = 6, **overrides: object) -> Day:
    fields: dict[str, object] = {
        "seed": seed,
        "start_ms": START_MS,
        "duration_s": hours * 3600,
        "store": "sim-store",
        "visitors_per_hour": 120,
        "member_share": 0.4,
    }
    config = ScenarioConfig(**(fields | overrides))  # type: ignore[arg-type]
    members = generate_members(seed, 150, app_share=0.6, consent_share=0.6)
    staff = generate_staff(seed)
    scenario = build_scenario(config, members=members, catalog=generate_catalog(seed), staff=staff)
    return Day(config, members, staff, scenario)


@pytest.fixture(scope="module")
def day() -> Day:
    return simulate(11)


def events_of(day: Day, kind: type[T]) -> list[T]:
    return [e.event for e in day.scenario.emissions if isinstance(e.event, kind)]


def encoded(scenario: Scenario) -> list[tuple[int, str, bytes]]:
    return [(e.at_ms, e.device, encode_events(e.event)) for e in scenario.emissions]


# -- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_identical_emissions_and_truth(day: Day) -> None:
    again = simulate(11)
    assert encoded(again.scenario) == encoded(day.scenario)
    assert msgspec.json.encode(again.scenario.truth) == msgspec.json.encode(day.scenario.truth)


def test_another_seed_gives_another_day(day: Day) -> None:
    other = simulate(12)
    assert encoded(other.scenario) != encoded(day.scenario)
    assert other.scenario.truth.visits != day.scenario.truth.visits or (
        other.scenario.truth.try_ons != day.scenario.truth.try_ons
    )


# -- protocol ----------------------------------------------------------------------------------


def test_every_event_round_trips_through_the_service_decoder(day: Day) -> None:
    for emission in day.scenario.emissions:
        decoded = decode_events(encode_events(emission.event), "sim-store", emission.device)
        assert decoded.rejected == []
        assert [a.event for a in decoded.accepted] == [emission.event]


@pytest.mark.parametrize("batch_size", [2, 37, 500])
def test_batched_payloads_decode_with_no_rejections(day: Day, batch_size: int) -> None:
    messages = batch_emissions(day.scenario.emissions, batch_size=batch_size, linger_ms=60_000)
    received: dict[str, list[object]] = defaultdict(list)
    for message in messages:
        assert message.payload.startswith(b"[")
        decoded = decode_events(message.payload, "sim-store", message.device)
        assert decoded.rejected == []
        received[message.device].extend(a.event for a in decoded.accepted)
    for device, emissions in day.scenario.by_device().items():
        assert received[device] == [e.event for e in emissions]


def test_emissions_are_time_ordered_within_opening_hours(day: Day) -> None:
    times = [e.at_ms for e in day.scenario.emissions]
    assert times == sorted(times)
    assert all(e.at_ms == e.event.ts for e in day.scenario.emissions)
    assert day.config.start_ms <= times[0] and times[-1] < day.config.close_ms
    assert {e.device for e in day.scenario.emissions} == set(DEVICES)


def test_event_ids_are_unique_per_device_and_follow_time(day: Day) -> None:
    for device, emissions in day.scenario.by_device().items():
        ids = [e.event.id for e in emissions]
        assert len(set(ids)) == len(ids), device
        assert ids == sorted(ids), device


def test_another_start_time_gives_other_event_ids() -> None:
    # Otherwise a second run would be dropped by the service as replays of the first.
    first = simulate(3, hours=0.5)
    next_day = simulate(3, hours=0.5, start_ms=START_MS + 86_400_000)
    assert {e.event.id for e in first.scenario.emissions}.isdisjoint(
        e.event.id for e in next_day.scenario.emissions
    )


# -- ground truth against what the devices said ------------------------------------------------


def test_door_counts_match_the_truth_and_the_store_empties(day: Day) -> None:
    truth = day.scenario.truth
    crossings = events_of(day, DoorCrossing)
    people_in = sum(c.count for c in crossings if c.direction == "in")
    people_out = sum(c.count for c in crossings if c.direction == "out")
    assert people_in == people_out == truth.footfall_in == truth.footfall_out
    assert sum(1 for c in crossings if c.direction == "in") == truth.visits
    assert {c.count for c in crossings} == {1, 2}  # couples come through together
    assert truth.visits == truth.anonymous_visits + sum(
        m.visits for m in truth.member_visits.values()
    )
    inside = 0
    for crossing in crossings:
        inside += crossing.count if crossing.direction == "in" else -crossing.count
        assert inside >= 0


def test_resolving_app_ids_with_member_keys_recovers_member_visits(day: Day) -> None:
    truth = day.scenario.truth
    windows = range(
        day.config.start_ms // 1000 // WINDOW_SECONDS,
        day.config.close_ms // 1000 // WINDOW_SECONDS + 1,
    )
    # (window, eid) -> member: what the service can compute from the registry.
    table = {
        (window, eid_for_window(m.app_key, window)): m.member_id
        for m in day.members
        if m.app_key is not None
        for window in windows
    }
    sightings: dict[str, list[int]] = defaultdict(list)
    unresolved = set()
    for sighting in events_of(day, BeaconSighting):
        if not sighting.is_app_id:
            continue
        member_id = table.get((sighting.ts_ms // 1000 // WINDOW_SECONDS, sighting.beacon))
        if member_id is None:
            unresolved.add(sighting.beacon)
        else:
            sightings[member_id].append(sighting.ts_ms)

    def visits(times: list[int]) -> int:  # a gap of 10+ minutes starts a new visit
        return 1 + sum(1 for a, b in itertools.pairwise(times) if b - a > 600_000)

    observed = {member_id: visits(times) for member_id, times in sightings.items()}
    with_app = {
        member_id: entry.visits for member_id, entry in truth.member_visits.items() if entry.has_app
    }
    assert observed == with_app
    recognisable = truth.member_visit_counts(recognisable_only=True)
    assert recognisable == {m: n for m, n in observed.items() if truth.member_visits[m].consent}
    assert 0 < len(recognisable) < len(truth.member_visits)
    # The truth names non-consenting and app-less members too, and marks them.
    assert any(not entry.consent for entry in truth.member_visits.values())
    assert any(not entry.has_app for entry in truth.member_visits.values())
    # Anonymous phones' IDs resolve to nobody.
    assert unresolved
    assert unresolved.isdisjoint(
        eid for entry in truth.member_visits.values() for eid in entry.app_ids
    )
    for member_id, entry in truth.member_visits.items():
        assert len(entry.app_ids) >= (1 if entry.has_app else 0), member_id


def test_anonymous_app_ids_rotate_every_fifteen_minutes() -> None:
    day = simulate(5, hours=2, member_share=0.0)
    by_window: dict[int, set[str]] = defaultdict(set)
    for sighting in events_of(day, BeaconSighting):
        if sighting.is_app_id:
            by_window[sighting.ts_ms // 1000 // WINDOW_SECONDS].add(sighting.beacon)
    windows = sorted(by_window)
    for earlier, later in itertools.pairwise(windows):
        assert by_window[earlier].isdisjoint(by_window[later])


def test_all_three_beacon_forms_are_heard(day: Day) -> None:
    beacons = [s.beacon for s in events_of(day, BeaconSighting)]
    assert any(b.startswith("ibeacon:") for b in beacons)
    assert any(b.startswith("eddystone-uid:") for b in beacons)
    assert sum(1 for b in beacons if len(b) == 16) > len(beacons) / 2
    assert all(-100 <= s.rssi <= -35 for s in events_of(day, BeaconSighting))


def test_try_ons_and_conversions_match_the_tags(day: Day) -> None:
    truth = day.scenario.truth
    tags = events_of(day, RfidTag)
    entered = [t.epc for t in tags if t.action == "enter" and is_sgtin96(t.epc)]
    assert len(entered) == len(set(entered))  # each item is tried once
    assert Counter(decode_sgtin96(epc).gtin for epc in entered) == truth.try_ons
    sold = [item.epc for sale in events_of(day, PosSale) for item in sale.items]
    assert all(epc is not None for epc in sold)
    sold_epcs = {epc for epc in sold if epc is not None}
    assert len(sold_epcs) == len(sold)
    assert Counter(decode_sgtin96(epc).gtin for epc in sold_epcs) == truth.items_sold
    assert (
        Counter(decode_sgtin96(epc).gtin for epc in set(entered) & sold_epcs) == truth.conversions
    )
    assert 0 < sum(truth.conversions.values()) < len(entered)


def test_fitting_room_tags_enter_then_leave_on_their_own_reader(day: Day) -> None:
    zones = {device: zone for zone, device in FITTING_ROOMS.items()}
    present: dict[tuple[str, str], int] = {}
    for emission in day.scenario.emissions:
        tag = emission.event
        if not isinstance(tag, RfidTag):
            continue
        assert tag.zone == zones[emission.device]
        key = (emission.device, tag.epc)
        if tag.action == "enter":
            assert key not in present
            present[key] = tag.ts_ms
        else:
            assert present.pop(key) <= tag.ts_ms
    assert present == {}


def test_staff_badges_are_seen_in_fitting_rooms(day: Day) -> None:
    badges = {s.badge_epc for s in day.staff}
    visits = [t for t in events_of(day, RfidTag) if t.action == "enter" and not is_sgtin96(t.epc)]
    assert {t.epc for t in visits} <= badges
    assert len(visits) == day.scenario.truth.staff_fitting_room_visits > 0


def test_sales_match_the_truth_and_name_members_by_card_or_phone(day: Day) -> None:
    truth = day.scenario.truth
    sales = events_of(day, PosSale)
    assert len(sales) == truth.sales == len({s.sale_id for s in sales})
    assert round(sum(s.total or 0 for s in sales), 2) == truth.revenue
    for sale in sales:
        assert sale.total == round(sum(i.price * i.qty for i in sale.items), 2)
        assert sale.currency == "CNY"
    cards = {m.card_epc: m.member_id for m in day.members}
    phones = {m.phone: m.member_id for m in day.members}
    by_sale = {p.sale_id: p for p in truth.parties if p.sale_id is not None}
    refs: Counter[str | None] = Counter()
    for sale in sales:
        party = by_sale[sale.sale_id]
        if sale.member is None:
            assert party.member_ref is None
            continue
        named = cards.get(sale.member.card or "") or phones.get(sale.member.phone or "")
        assert named == party.member_id
        refs[party.member_ref] += 1
    assert refs["card"] > 0 and refs["phone"] > 0


def test_event_counts_in_the_truth_match_the_emissions(day: Day) -> None:
    truth = day.scenario.truth
    assert truth.events == len(day.scenario.emissions)
    assert truth.events_by_type == dict(Counter(e.event.type for e in day.scenario.emissions))


# -- demo: a recognisable member early ------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_early_member_is_recognisable_within_thirty_seconds(seed: int) -> None:
    day = simulate(seed, hours=1, early_member_s=30)
    keys = {m.member_id: m.app_key for m in day.members if m.recognisable and m.app_key}
    deadline = day.config.start_ms + 30_000
    early = [
        s
        for s in events_of(day, BeaconSighting)
        if s.ts_ms <= deadline
        and any(
            s.beacon == eid_for_window(key, s.ts_ms // 1000 // WINDOW_SECONDS)
            for key in keys.values()
        )
    ]
    assert early


def test_early_member_needs_a_recognisable_member() -> None:
    config = ScenarioConfig(seed=1, start_ms=START_MS, duration_s=600, early_member_s=30)
    members = generate_members(1, 20, consent_share=0.0)
    with pytest.raises(ValueError, match="consenting member"):
        build_scenario(config, members=members, catalog=generate_catalog(1))


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"store": "Demo Store"}, "store"),
        ({"start_ms": 1_780_000_000}, "epoch milliseconds"),
        ({"duration_s": 0}, "duration_s"),
        ({"member_share": 1.5}, "member_share"),
        ({"visitors_per_hour": -1}, "visitors_per_hour"),
        ({"early_member_s": 2}, "early_member_s"),
    ],
)
def test_bad_configs_are_refused(overrides: dict[str, object], complaint: str) -> None:
    fields: dict[str, object] = {"seed": 1, "start_ms": START_MS, "duration_s": 600}
    with pytest.raises(ValueError, match=complaint):
        ScenarioConfig(**(fields | overrides))  # type: ignore[arg-type]


def test_a_short_run_still_ends_with_an_empty_store() -> None:
    day = simulate(2, hours=2 / 60)
    crossings = events_of(day, DoorCrossing)
    assert crossings
    assert sum(c.count if c.direction == "in" else -c.count for c in crossings) == 0
    assert all(e.at_ms < day.config.close_ms for e in day.scenario.emissions)
