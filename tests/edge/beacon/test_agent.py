"""The beacon agent: recording in, protocol events out, and live config."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from edge.beacon.advertisements import Advertisement
from edge.beacon.agent import BeaconAgent
from edge.beacon.config import BleakSourceConfig
from edge.beacon.sources import BleakSource
from edge.runtime.base import Agent
from storesense.protocol.decode import decode_events
from storesense.protocol.eid import WINDOW_SECONDS, eid_at
from storesense.protocol.events import BeaconSighting, encode_events
from tests.edge.beacon.fake_bleak import bleak_data, scripted_backend
from tests.edge.beacon.helpers import (
    APP_KEY,
    IBEACON_RAW,
    SCANNER_ZONES,
    SHELF_TAG,
    STAFF_BADGE,
    T0,
    ListSink,
    app_raw,
    ibeacon,
    store_recording,
)

BOUNDARY = (T0 // WINDOW_SECONDS + 1) * WINDOW_SECONDS  # an app ID rotation
START = BOUNDARY - 300  # the visit straddles it
OLD_EID, NEW_EID = eid_at(APP_KEY, BOUNDARY - 1), eid_at(APP_KEY, BOUNDARY)
THROTTLE = 10.0


def section(path: Path, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "scanners": SCANNER_ZONES,
        "zones": {"fitting-rooms": {"threshold": -70}},
        "throttle_seconds": THROTTLE,
        "lost_after_seconds": 15,
        "source": {"type": "replay", "path": str(path)},
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="module")
def replayed(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[BeaconAgent, list[BeaconSighting], int]:
    records = store_recording(START, minutes=10)
    path = tmp_path_factory.mktemp("beacon") / "store.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    agent = BeaconAgent.from_config(section(path))
    sink = ListSink()
    agent.run(sink, threading.Event())
    events = sink.events
    assert all(isinstance(e, BeaconSighting) for e in events)
    return agent, [e for e in events if isinstance(e, BeaconSighting)], len(records)


def test_every_published_event_is_accepted_by_ingest(
    replayed: tuple[BeaconAgent, list[BeaconSighting], int],
) -> None:
    _, events, _ = replayed
    assert events
    for start in range(0, len(events), 500):
        batch = events[start : start + 500]
        decoded = decode_events(encode_events(list(batch)), "store-1", "beacon-1")
        assert decoded.rejected == []
        assert [a.event for a in decoded.accepted] == batch
    assert len({e.id for e in events}) == len(events)


def test_the_beacons_in_the_store_are_the_ones_published(
    replayed: tuple[BeaconAgent, list[BeaconSighting], int],
) -> None:
    _, events, _ = replayed
    assert {e.beacon for e in events} == {STAFF_BADGE, SHELF_TAG, OLD_EID, NEW_EID}
    assert {e.tx_power for e in events if e.beacon == STAFF_BADGE} == {-59}
    assert {e.tx_power for e in events if e.beacon == SHELF_TAG} == {-66}
    assert {e.tx_power for e in events if e.beacon in (OLD_EID, NEW_EID)} == {-53}


def test_zones_follow_the_member_without_flapping(
    replayed: tuple[BeaconAgent, list[BeaconSighting], int],
) -> None:
    _, events, _ = replayed

    def moves(beacon: str) -> list[str | None]:
        seen = [e.zone for e in events if e.beacon == beacon]
        return [zone for i, zone in enumerate(seen) if i == 0 or zone != seen[i - 1]]

    assert moves(OLD_EID) == ["entrance", "fitting-rooms"]
    # The new ID is heard first by the (far) door scanner; it is published once, in the
    # zone the fitting-room scanner puts it in a moment later.
    assert moves(NEW_EID) == ["fitting-rooms", "checkout"]
    assert {e.zone for e in events if e.beacon == STAFF_BADGE} == {"checkout"}
    assert {e.zone for e in events if e.beacon == SHELF_TAG} == {"entrance"}
    assert all(-70 <= e.rssi <= -46 for e in events)  # smoothed around -58, never a far scanner


def test_the_rotated_id_replaces_the_old_one_although_bluez_still_lists_it(
    replayed: tuple[BeaconAgent, list[BeaconSighting], int],
) -> None:
    agent, events, _ = replayed
    assert max(e.ts_ms for e in events if e.beacon == OLD_EID) < BOUNDARY * 1000
    assert min(e.ts_ms for e in events if e.beacon == NEW_EID) < BOUNDARY * 1000 + 1000
    assert agent.stats["ignored.stale_app_id"] > 0


def test_no_beacon_is_published_twice_within_the_interval_unless_it_moved(
    replayed: tuple[BeaconAgent, list[BeaconSighting], int],
) -> None:
    _, events, _ = replayed
    last: dict[str, BeaconSighting] = {}
    for event in events:
        before = last.get(event.beacon)
        if before is not None and event.zone == before.zone:
            assert event.ts_ms - before.ts_ms >= THROTTLE * 1000
        last[event.beacon] = event


def test_volume_is_cut_by_two_orders_of_magnitude(
    replayed: tuple[BeaconAgent, list[BeaconSighting], int],
) -> None:
    agent, events, adverts = replayed
    assert agent.stats["adverts"] == adverts
    assert adverts / len(events) > 100
    # 10 minutes at one event per 10 s is 60 per beacon, plus a few for moves and the rotation.
    assert len(events) <= 3 * 61 + 5


def test_unusable_advertisements_are_counted_by_reason(
    replayed: tuple[BeaconAgent, list[BeaconSighting], int],
) -> None:
    agent, _, _ = replayed
    stats = agent.stats
    for reason in ("not_a_beacon", "ibeacon_bad_length", "eddystone_not_uid", "rssi_out_of_range"):
        assert stats[f"ignored.{reason}"] > 0, reason


def test_agent_satisfies_the_runtime_contract(tmp_path: Path) -> None:
    agent: Agent = BeaconAgent.from_config(section(tmp_path / "r.jsonl"))
    assert agent.kind == "beacon"


def test_a_bad_live_config_names_the_key_and_changes_nothing(tmp_path: Path) -> None:
    agent = BeaconAgent.from_config(section(tmp_path / "r.jsonl"))
    before = agent.config
    with pytest.raises(ValueError, match="unknown key `throttle`"):
        agent.apply_config({**section(tmp_path / "r.jsonl"), "throttle": 5})
    with pytest.raises(ValueError, match=r"key `kalman\.measurement_noise`"):
        agent.apply_config({"kalman": {"measurement_noise": -1}})
    assert agent.config is before


def test_a_live_config_applies_while_running(tmp_path: Path) -> None:
    backend = scripted_backend([("AA:01", bleak_data(IBEACON_RAW, -60))] * 3)
    source = BleakSource({"door": ""}, backend=backend, flush_seconds=0.01)
    local = {"type": "bleak", "adapters": {"door": "hci1"}}
    agent = BeaconAgent.from_config(
        {"scanners": {"door": "entrance"}, "source": local}, source=source
    )
    sink, stop = ListSink(), threading.Event()
    thread = threading.Thread(target=agent.run, args=(sink, stop))
    thread.start()
    try:
        wait_for(lambda: agent.stats.get("adverts", 0) >= 3)
        # The service's config says nothing about radios: the local source stays.
        agent.apply_config({"scanners": {"door": "lobby"}, "throttle_seconds": 30})
        assert agent.config.throttle_seconds == 30
        assert agent.config.source == BleakSourceConfig(adapters={"door": "hci1"})
        agent.apply_config({"scanners": {"door": "lobby"}, "source": local})  # the same: fine
        with pytest.raises(ValueError, match="key `source` cannot change while the agent runs"):
            agent.apply_config({"source": {"type": "replay", "path": "x.jsonl"}})
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert agent.config.scanners == {"door": "lobby"}
    agent.apply_config({"source": {"type": "replay", "path": "x.jsonl"}})  # fine once stopped


def test_the_bleak_source_feeds_the_agent_end_to_end() -> None:
    eid = eid_at(APP_KEY, time.time())
    script = [
        ("AA:01", bleak_data(IBEACON_RAW, -61)),
        ("5C:01", bleak_data(app_raw(eid, -12), -57)),
        ("7E:01", bleak_data(bytes.fromhex("07ff4c001005031c"), -40)),
    ]
    source = BleakSource({"door": "hci0"}, backend=scripted_backend(script), flush_seconds=0.01)
    agent = BeaconAgent.from_config({"scanners": {"door": "entrance"}}, source=source)
    sink, stop = ListSink(), threading.Event()
    thread = threading.Thread(target=agent.run, args=(sink, stop))
    thread.start()
    try:
        wait_for(lambda: len(sink.events) >= 2)
    finally:
        stop.set()
        thread.join(5)
    events = [e for e in sink.events if isinstance(e, BeaconSighting)]
    assert {(e.beacon, e.zone, e.rssi) for e in events} == {
        ("ibeacon:b9407f30-f5f8-466e-aff9-25556b57fe6d:12345:54321", "entrance", -61),
        (eid, "entrance", -57),
    }
    assert all(abs(e.ts_ms / 1000 - time.time()) < 10 for e in events)
    assert agent.stats["ignored.not_a_beacon"] == 1
    assert agent.stats["dropped"] == 0 and agent.stats["scanner_restarts"] == 0


def wait_for(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class _Scripted:
    """A source that delivers fixed batches, as (advertisements, now)."""

    def __init__(self, batches: list[tuple[list[Advertisement], float]]) -> None:
        self.batches = batches

    def run(self, deliver: Any, stop: threading.Event) -> None:
        for batch, now in self.batches:
            deliver(batch, now)


def test_silent_beacons_are_forgotten_even_when_nothing_else_is_heard() -> None:
    still_there = _Scripted([([ibeacon(T0, -60, "door")], T0), ([], T0 + 19)])
    gone = _Scripted([([ibeacon(T0, -60, "door")], T0), ([], T0 + 21)])
    for source, tracked in ((still_there, 1), (gone, 0)):
        agent = BeaconAgent.from_config({"lost_after_seconds": 20}, source=source)
        agent.run(ListSink(), threading.Event())
        assert agent.stats["tracked"] == tracked
        assert agent.stats.get("lost", 0) == 1 - tracked
