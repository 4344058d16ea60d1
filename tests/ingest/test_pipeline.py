"""The ingest pipeline on the embedded backends (memory state, real SQLite time series),
with a recording alert channel standing in for the store's handhelds."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from ingest.directory import DirectoryCache
from ingest.metrics import IngestMetrics
from ingest.pipeline import Pipeline
from rules.delivery.dispatcher import Dispatcher
from rules.raiser import AlertRaiser
from storesense.backends.state.memory import MemoryState
from storesense.backends.timeseries.base import Point
from storesense.backends.timeseries.batching import BatchingWriter
from storesense.backends.timeseries.sqlite import SQLiteTimeSeries
from storesense.protocol.eid import eid_at
from storesense.protocol.topics import Topics
from storesense.registry import stored
from storesense.registry.members import Member
from storesense.settings import IngestSettings
from tests.rules.recording import RecordingChannel

NOW_MS = 1_795_658_400_000
KEY = bytes(range(16))
CARD = "e2" + "ab" * 11
OTHER_KEY = b"n" * 16


@dataclass
class Harness:
    pipeline: Pipeline
    state: MemoryState
    writer: BatchingWriter
    store: SQLiteTimeSeries
    channel: RecordingChannel
    dispatcher: Dispatcher
    now_ms: list[int]

    async def send(self, device: str, payload: Any, store: str = "s1") -> Any:
        outcome = await self.pipeline.handle(
            f"storesense/v1/{store}/{device}/events", json.dumps(payload).encode()
        )
        await self.dispatcher.drain()
        return outcome


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    state = MemoryState()
    await stored.save(
        state,
        [
            Member(member_id="m1", name="Li Na", tier="gold", consent=True, app_key=KEY.hex(),
                   card_epcs=(CARD,), phone="+8613800138000"),
            Member(member_id="m2", name="No Consent", consent=False, app_key=OTHER_KEY.hex()),
        ]
    )  # fmt: skip
    store = SQLiteTimeSeries(tmp_path / "ts.sqlite")
    channel = RecordingChannel()
    now_ms = [NOW_MS]
    async with BatchingWriter(store) as writer, Dispatcher([channel]) as dispatcher:
        pipeline = Pipeline(
            topics=Topics(),
            state=state,
            points=writer,
            directory=DirectoryCache(state, check_interval_s=0),
            raiser=AlertRaiser(state, dispatcher, lambda _: "en", clock=lambda: now_ms[0] / 1000),
            metrics=IngestMetrics(CollectorRegistry()),
            settings=IngestSettings(visit_gap_s=600),
            clock=lambda: now_ms[0] / 1000,
        )
        yield Harness(pipeline, state, writer, store, channel, dispatcher, now_ms)
    await store.close()


def sighting(event_id: str, key: bytes, ts_ms: int = NOW_MS) -> dict[str, Any]:
    return {"type": "beacon.sighting", "id": event_id, "ts": ts_ms, "beacon": eid_at(key, ts_ms / 1000),
            "rssi": -60, "zone": "entrance"}  # fmt: skip


async def test_member_seen_many_times_in_one_visit_raises_one_alert(harness: Harness) -> None:
    for n in range(5):
        await harness.send("ble-1", sighting(f"b{n}", KEY, NOW_MS + n * 30_000))
    [alert] = harness.channel.alerts
    assert alert.type == "member.arrived" and alert.member is not None
    assert alert.member.id == "m1" and alert.title == "Li Na (gold) just arrived"
    assert await harness.state.alerts("s1") == [alert]


async def test_non_consenting_member_and_unknown_phone_stay_anonymous(harness: Harness) -> None:
    await harness.send("ble-1", [sighting("x1", OTHER_KEY), sighting("x2", b"u" * 16)])
    assert harness.channel.alerts == []
    await harness.writer.flush()
    assert await harness.store.count("beacon_sighting", start_ns=0, end_ns=2**62) == 2


async def test_a_new_visit_after_the_gap_raises_again_with_the_last_visit(harness: Harness) -> None:
    await harness.send("ble-1", sighting("a", KEY))
    later = NOW_MS + 601_000 + 5_000
    harness.now_ms[0] = later
    await harness.send("ble-1", sighting("b", KEY, later))
    first, second = harness.channel.alerts
    assert "last_visit_ts" not in first.data
    assert second.data["last_visit_ts"] == NOW_MS


async def test_loyalty_card_in_a_fitting_room_and_phone_on_a_sale_recognize_the_member(
    harness: Harness,
) -> None:
    card = {"type": "rfid.tag", "id": "r1", "ts": NOW_MS, "epc": CARD.upper(), "action": "enter",
            "zone": "fitting-room-1"}  # fmt: skip
    await harness.send("rfid-1", card)
    [alert] = harness.channel.alerts
    assert alert.zone == "fitting-room-1" and alert.data["source"] == "card"

    await harness.send("pos-1", {"type": "pos.sale", "id": "p1", "ts": NOW_MS, "sale_id": "S1",
                                 "items": [{"gtin": "00614141123452", "qty": 1, "price": 10}],
                                 "member": {"phone": "+86 138 0013 8000"}}, store="s2")  # fmt: skip
    assert [a.store for a in harness.channel.alerts] == ["s1", "s2"]


async def test_replayed_event_is_stored_once_and_counted(harness: Harness) -> None:
    door = {"type": "door.crossing", "id": "d1", "ts": NOW_MS, "direction": "in", "count": 2}
    first = await harness.send("door-1", door)
    again = await harness.send("door-1", [door, {**door, "id": "d2"}])
    assert (first.accepted, first.replays) == (1, 0)
    assert (again.accepted, again.replays) == (1, 1)
    await harness.writer.flush()
    points = await harness.store.query("door_crossing", start_ns=0, end_ns=2**62)
    assert sorted(p.fields["id"] for p in points) == ["d1", "d2"]
    assert points[0].tags == {"store": "s1", "device": "door-1", "direction": "in"}


async def test_replay_of_an_old_sighting_after_an_outage_is_stored_but_raises_nothing(
    harness: Harness,
) -> None:
    harness.now_ms[0] = NOW_MS + 3_600_000  # the outbox delivers an hour late
    await harness.send("ble-1", sighting("late", KEY))
    assert harness.channel.alerts == []
    await harness.writer.flush()
    assert await harness.store.count("beacon_sighting", start_ns=0, end_ns=2**62) == 1


async def test_unknown_fields_are_stored_with_the_event(harness: Harness) -> None:
    door = {"type": "door.crossing", "id": "d9", "ts": NOW_MS, "direction": "out",
            "firmware": "2.1", "confidence": 0.93}  # fmt: skip
    await harness.send("door-1", door)
    await harness.writer.flush()
    [point] = await harness.store.query("door_crossing", start_ns=0, end_ns=2**62)
    assert json.loads(str(point.fields["extra"])) == {"firmware": "2.1", "confidence": 0.93}


async def test_bad_topic_is_rejected_not_raised(harness: Harness) -> None:
    outcome = await harness.pipeline.handle("storesense/v1/BAD STORE/d/events", b"{}")
    assert [r.reason.value for r in outcome.rejected] == ["bad_topic"]


async def test_event_too_big_to_store_is_rejected_not_claimed(harness: Harness) -> None:
    huge = {"type": "door.crossing", "id": "h1", "ts": NOW_MS, "direction": "in",
            "blob": "x" * 70_000}  # fmt: skip
    outcome = await harness.send("door-1", [huge, {**huge, "id": "ok", "blob": "small"}])
    assert outcome.accepted == 1
    [rejection] = outcome.rejected
    assert rejection.event_id == "h1" and "unknown fields take" in rejection.message
    assert await harness.state.claim_events([("s1", "door-1", "h1")], 60) == [True]


async def test_member_phone_in_a_fitting_room_names_the_member_on_the_try_on(
    harness: Harness,
) -> None:
    garment = "3074257bf7194e4000001a85"  # SGTIN-96, GTIN 80614141123458
    await harness.send("ble-1", {**sighting("b1", KEY), "zone": "fitting-room-2"})
    await harness.send("rfid-2", {"type": "rfid.tag", "id": "r1", "ts": NOW_MS + 1000,
                                  "epc": garment, "action": "enter", "zone": "fitting-room-2"})  # fmt: skip
    await harness.writer.flush()
    [try_on] = await harness.store.query("try_on", start_ns=0, end_ns=2**62)
    assert try_on.tags == {"store": "s1", "zone": "fitting-room-2", "gtin": "80614141123458"}
    assert try_on.fields["member_id"] == "m1" and try_on.fields["epc"] == garment


async def test_redelivered_message_restores_points_a_killed_worker_never_stored(
    harness: Harness,
) -> None:
    """A worker claims the events, updates state, then dies before its points are written;
    the broker redelivers the message to another worker: points and facts come back once."""
    garment = "3074257bf7194e4000001a85"
    enter = {"type": "rfid.tag", "id": "r1", "ts": NOW_MS, "epc": garment, "action": "enter",
             "zone": "fitting-room-1"}  # fmt: skip
    sale = {"type": "pos.sale", "id": "p1", "ts": NOW_MS + 60_000, "sale_id": "S1",
            "items": [{"epc": garment, "qty": 1, "price": 10}]}  # fmt: skip
    lost: list[Point] = []
    original_submit = harness.writer.submit
    harness.writer.submit = lost.extend  # type: ignore[method-assign,assignment]  # the crash
    await harness.send("rfid-1", enter)
    await harness.send("pos-1", sale)
    harness.writer.submit = original_submit  # type: ignore[method-assign]
    assert {p.measurement for p in lost} >= {"rfid_tag", "try_on", "pos_sale", "conversion"}

    replay_enter = await harness.send("rfid-1", enter)
    replay_sale = await harness.send("pos-1", sale)
    await harness.send("rfid-1", enter)  # and once more: still stored once
    assert (replay_enter.replays, replay_sale.replays) == (1, 1)
    await harness.writer.flush()
    for measurement in ("rfid_tag", "try_on", "pos_sale", "sale_item", "conversion"):
        assert await harness.store.count(measurement, start_ns=0, end_ns=2**62) == 1, measurement
    assert harness.channel.alerts == []  # replays raise nothing
