"""The rules through the ingest pipeline (memory state, real SQLite time series): events in,
the read model kept, event-driven and time-based rules evaluated, alerts raised once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from prometheus_client import CollectorRegistry

from ingest.directory import DirectoryCache
from ingest.metrics import IngestMetrics
from ingest.pipeline import Pipeline
from rules.delivery.dispatcher import Dispatcher
from rules.engine import RuleEngine, overrides_key
from rules.lifecycle.policy import AlertPolicy
from rules.params import RulesConfig
from rules.raiser import AlertRaiser
from storesense.backends.state.base import DeviceRecord
from storesense.backends.state.memory import MemoryState
from storesense.backends.timeseries.batching import BatchingWriter
from storesense.backends.timeseries.sqlite import SQLiteTimeSeries
from storesense.protocol.alerts import Alert
from storesense.protocol.decode import AcceptedEvent
from storesense.protocol.eid import eid_at
from storesense.protocol.events import DoorCrossing
from storesense.protocol.sgtin import encode_sgtin96, make_gtin14
from storesense.protocol.topics import Topics
from storesense.registry import stored
from storesense.registry.members import Member
from storesense.registry.products import Product
from storesense.registry.staff import StaffMember
from storesense.settings import IngestSettings, load_settings
from tests.rules.recording import RecordingChannel

NOW_MS = 1_795_658_400_000  # a Thursday, 02:00 UTC
MIN = 60_000
KEY = bytes(range(16))
NO_CONSENT_KEY = b"n" * 16
BADGE = "e2806894" + "00" * 8
GTINS = [make_gtin14(0, "0614141", f"{n:05d}") for n in range(6)]
PRODUCTS = [
    Product(gtin=GTINS[0], style="LS-OX", name="Oxford shirt", colour="white", size="S"),
    Product(gtin=GTINS[1], style="LS-OX", name="Oxford shirt", colour="white", size="M"),
    Product(gtin=GTINS[2], style="DR-WR", name="Wrap dress", colour="navy", size="S"),
    Product(gtin=GTINS[3], style="TS-CR", name="Crew-neck T-shirt", colour="grey", size="M"),
    Product(gtin=GTINS[4], style="KN-MR", name="Merino sweater", colour="black", size="L"),
    Product(gtin=GTINS[5], style="CH-TP", name="Tapered chinos", colour="beige", size="M"),
]


def epc(gtin_index: int, serial: int) -> str:
    return encode_sgtin96(GTINS[gtin_index], serial, company_prefix_length=7)


@dataclass
class Harness:
    pipeline: Pipeline
    state: MemoryState
    channel: RecordingChannel
    dispatcher: Dispatcher
    now_ms: list[int]
    counter: list[int]

    async def send(self, device: str, *events: dict[str, Any], store: str = "s1") -> None:
        for event in events:
            self.counter[0] += 1
            event.setdefault("id", f"e{self.counter[0]}")
            self.now_ms[0] = max(self.now_ms[0], int(event["ts"]))
        await self.pipeline.handle(
            f"storesense/v1/{store}/{device}/events", json.dumps(list(events)).encode()
        )
        await self.dispatcher.drain()

    def of(self, type_: str) -> list[Alert]:
        return [alert for alert in self.channel.alerts if alert.type == type_]


CONFIG = """
defaults:
  member_arrived: {tiers: [gold, platinum]}
  traffic_surge: {baseline_per_window: 3, min_entries: 8, staff_on_shift: 1}
  sku_tried_not_bought: {min_tries: 3}
custom:
  - id: busy-room
    when: {type: rfid.tag, zone: "fitting-room-*", fields: [{field: action, value: enter}]}
    count: {at_least: 5, within_min: 10, per: zone}
    title: {en: "$zone is busy", zh-CN: "$zone 繁忙"}
    body: {en: "$count garments in $within_min min", zh-CN: "$count 件"}
"""


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    state = MemoryState()
    await stored.save(
        state,
        [
            Member(member_id="m1", name="Li Na", tier="gold", consent=True, app_key=KEY.hex()),
            Member(member_id="m2", name="No Consent", tier="gold", consent=False,
                   app_key=NO_CONSENT_KEY.hex()),
        ],
    )  # fmt: skip
    await stored.save(state, PRODUCTS)
    await stored.save(state, [StaffMember(staff_id="st1", name="Wang", badge_epcs=(BADGE,))])
    series = SQLiteTimeSeries(tmp_path / "ts.sqlite")
    channel = RecordingChannel()
    now_ms = [NOW_MS]
    config = RulesConfig.parse(yaml.safe_load(CONFIG))
    settings = IngestSettings(visit_gap_s=600, sweep_interval_s=30)
    async with BatchingWriter(series) as writer, Dispatcher([channel]) as dispatcher:
        pipeline = Pipeline(
            topics=Topics(),
            state=state,
            points=writer,
            directory=DirectoryCache(state, check_interval_s=0),
            raiser=AlertRaiser(state, dispatcher, lambda _: "en", clock=lambda: now_ms[0] / 1000),
            metrics=IngestMetrics(CollectorRegistry()),
            settings=settings,
            rules=RuleEngine(state, config, overrides_ttl_s=0),
            clock=lambda: now_ms[0] / 1000,
        )
        yield Harness(pipeline, state, channel, dispatcher, now_ms, [0])
    await series.close()


def rfid(epc_: str, action: str, zone: str, ts: int) -> dict[str, Any]:
    return {"type": "rfid.tag", "ts": ts, "epc": epc_, "action": action, "zone": zone}


def door(ts: int, count: int = 1) -> dict[str, Any]:
    return {"type": "door.crossing", "ts": ts, "direction": "in", "count": count}


def beacon(key: bytes, ts: int, zone: str = "entrance") -> dict[str, Any]:
    return {"type": "beacon.sighting", "ts": ts, "beacon": eid_at(key, ts / 1000), "rssi": -60,
            "zone": zone}  # fmt: skip


async def test_unattended_fitting_room_alerts_once_per_session(harness: Harness) -> None:
    await harness.send("rfid-fr1", rfid(epc(0, 1), "enter", "fitting-room-1", NOW_MS))
    for minutes in (4, 7, 9, 10, 12):  # other devices' events move the store's clock on
        await harness.send("door-1", door(NOW_MS + minutes * MIN))
    [alert] = harness.of("fitting_room.unattended")
    assert alert.zone == "fitting-room-1" and alert.ts == NOW_MS + 8 * MIN
    assert alert.title == "fitting-room-1: nobody has checked in"


async def test_staff_in_the_room_keeps_it_quiet(harness: Harness) -> None:
    await harness.send("rfid-fr1", rfid(epc(0, 1), "enter", "fitting-room-1", NOW_MS))
    await harness.send("rfid-fr1", rfid(BADGE, "enter", "fitting-room-1", NOW_MS + 2 * MIN))
    await harness.send("rfid-fr1", rfid(BADGE, "leave", "fitting-room-1", NOW_MS + 3 * MIN))
    await harness.send("door-1", door(NOW_MS + 20 * MIN))
    assert harness.of("fitting_room.unattended") == []


async def test_two_sizes_of_one_style_ask_for_size_help_once(harness: Harness) -> None:
    zone = "fitting-room-2"
    await harness.send("rfid-fr2", rfid(epc(0, 1), "enter", zone, NOW_MS))
    assert harness.of("fitting_room.help") == []
    await harness.send("rfid-fr2", rfid(epc(1, 1), "enter", zone, NOW_MS + 10_000))
    await harness.send("rfid-fr2", rfid(epc(2, 1), "enter", zone, NOW_MS + 20_000))
    [alert] = harness.of("fitting_room.help")
    assert alert.data["kind"] == "sizes" and alert.data["sizes"] == ["M", "S"]
    assert alert.body.startswith("Trying Oxford shirt in several sizes (M, S)")


async def test_sku_tried_often_and_never_bought_alerts_the_manager_once(harness: Harness) -> None:
    for serial in range(3):
        ts = NOW_MS + serial * 5 * MIN
        await harness.send("rfid-fr1", rfid(epc(4, serial), "enter", "fitting-room-1", ts))
        await harness.send("rfid-fr1", rfid(epc(4, serial), "leave", "fitting-room-1", ts + MIN))
    for minutes in (15, 16, 30, 45):
        await harness.send("door-1", door(NOW_MS + minutes * MIN))
    [alert] = harness.of("sku.tried_not_bought")
    assert alert.ts == NOW_MS + 40 * MIN  # the third try-on plus the 30 min grace
    assert alert.data["gtin"] == GTINS[4] and alert.data["tried"] == 3
    assert alert.title == "Merino sweater black L: tried often, not bought"


async def test_a_sale_of_the_sku_today_means_no_alert(harness: Harness) -> None:
    for serial in range(3):
        ts = NOW_MS + serial * MIN
        await harness.send("rfid-fr1", rfid(epc(4, serial), "enter", "fitting-room-1", ts))
        await harness.send("rfid-fr1", rfid(epc(4, serial), "leave", "fitting-room-1", ts + 1000))
    sale = {"type": "pos.sale", "ts": NOW_MS + 4 * MIN, "sale_id": "S1",
            "items": [{"epc": epc(4, 0), "qty": 1, "price": 499}]}  # fmt: skip
    await harness.send("pos-1", sale)
    await harness.send("door-1", door(NOW_MS + 40 * MIN))
    assert harness.of("sku.tried_not_bought") == []


async def test_last_size_off_the_floor_with_stock_in_the_backroom_asks_for_restock(
    harness: Harness,
) -> None:
    await harness.send("rfid-floor", rfid(epc(5, 1), "enter", "floor", NOW_MS))
    await harness.send("rfid-floor", rfid(epc(5, 2), "enter", "floor", NOW_MS))
    await harness.send("rfid-back", rfid(epc(5, 3), "enter", "backroom", NOW_MS))
    await harness.send("rfid-floor", rfid(epc(5, 1), "leave", "floor", NOW_MS + MIN))
    await harness.send("rfid-fr1", rfid(epc(5, 1), "enter", "fitting-room-1", NOW_MS + MIN))
    assert harness.of("stock.restock") == []  # one is still on the floor
    await harness.send("rfid-floor", rfid(epc(5, 2), "leave", "floor", NOW_MS + 2 * MIN))
    await harness.send("rfid-fr2", rfid(epc(5, 2), "enter", "fitting-room-2", NOW_MS + 2 * MIN))
    [alert] = harness.of("stock.restock")
    assert alert.data["backroom"] == 1 and alert.zone == "backroom"
    assert alert.title == "Restock Tapered chinos beige M"
    assert alert.subject == f"{GTINS[5]}@{NOW_MS + 2 * MIN}"  # when the floor ran out
    # Tried again while the floor is still out: the same situation, however much later.
    await harness.send("rfid-fr2", rfid(epc(5, 1), "enter", "fitting-room-2", NOW_MS + 40 * MIN))
    assert len(harness.of("stock.restock")) == 1
    # Restocked, then out again: a new situation.
    await harness.send("rfid-floor", rfid(epc(5, 3), "enter", "floor", NOW_MS + 50 * MIN))
    await harness.send("rfid-floor", rfid(epc(5, 3), "leave", "floor", NOW_MS + 60 * MIN))
    await harness.send("rfid-back", rfid(epc(5, 4), "enter", "backroom", NOW_MS + 61 * MIN))
    await harness.send("rfid-fr1", rfid(epc(5, 3), "enter", "fitting-room-1", NOW_MS + 62 * MIN))
    assert [a.subject for a in harness.of("stock.restock")][1:] == [
        f"{GTINS[5]}@{NOW_MS + 60 * MIN}"
    ]


async def test_traffic_surge_against_the_baseline_and_staff(harness: Harness) -> None:
    for n in range(7):
        await harness.send("door-1", door(NOW_MS + n * MIN))
    assert harness.of("traffic.surge") == []  # 7 < min_entries
    await harness.send("door-1", door(NOW_MS + 8 * MIN), door(NOW_MS + 9 * MIN, count=2))
    await harness.send("door-1", door(NOW_MS + 9 * MIN + 30_000))
    [alert] = harness.of("traffic.surge")
    assert alert.data["entries"] == 10 and alert.data["usual"] == 3


async def test_silent_door_counter_and_offline_reader(harness: Harness) -> None:
    for device, kind in (("door-1", "door"), ("rfid-fr1", "rfid")):
        status = DeviceRecord(store="s1", device=device, state="online", ts_ms=NOW_MS, kind=kind)
        await harness.state.put_device(status)
    await harness.send("door-1", door(NOW_MS))
    for minutes in range(5, 40, 5):  # the reader keeps talking, the door counter does not
        ts = NOW_MS + minutes * MIN
        await harness.send("rfid-fr1", rfid(epc(3, minutes), "enter", "floor", ts))
    [silent] = harness.of("device.silent")
    assert silent.data["device"] == "door-1" and silent.ts == NOW_MS + 30 * MIN
    await harness.state.put_device(
        DeviceRecord(store="s1", device="rfid-fr1", state="offline", ts_ms=NOW_MS + 40 * MIN,
                     kind="rfid")
    )  # fmt: skip
    await harness.send("door-1", door(NOW_MS + 43 * MIN))
    [offline] = harness.of("device.offline")
    assert offline.data["device"] == "rfid-fr1" and offline.title == "Device offline: rfid-fr1"


async def test_member_profile_from_the_last_visit(harness: Harness) -> None:
    await harness.send("ble-1", beacon(KEY, NOW_MS))
    await harness.send("ble-1", beacon(KEY, NOW_MS + MIN, "fitting-room-1"))
    for index in (0, 2):
        await harness.send(
            "rfid-fr1", rfid(epc(index, 7), "enter", "fitting-room-1", NOW_MS + 2 * MIN)
        )
    sale = {"type": "pos.sale", "ts": NOW_MS + 9 * MIN, "sale_id": "S9",
            "items": [{"epc": epc(0, 7), "qty": 1, "price": 299}], "member": {"id": "m1"}}  # fmt: skip
    await harness.send("pos-1", sale)
    later = NOW_MS + 70 * 86_400_000
    await harness.send("ble-1", beacon(KEY, later))
    first, second = harness.of("member.arrived")
    assert "tried_not_bought" not in first.data or first.data["tried_not_bought"] == []
    assert second.data["tried_not_bought"] == ["Wrap dress navy S"]
    assert second.data["visits_90d"] == 1
    assert "Tried last time, not bought: Wrap dress navy S." in second.body
    [returning] = harness.of("member.returning")
    assert returning.member is not None and returning.member.id == "m1"


async def test_nobody_is_announced_without_consent_or_below_the_tier_filter(
    harness: Harness,
) -> None:
    await harness.send("ble-1", beacon(NO_CONSENT_KEY, NOW_MS), beacon(b"x" * 16, NOW_MS))
    assert harness.channel.alerts == []


async def test_overrides_in_the_state_change_a_store_s_parameters(harness: Harness) -> None:
    overrides = {"member_arrived": {"enabled": False}}
    await harness.state.update(
        overrides_key("s1"), lambda _: (msgspec.json.encode(overrides), None)
    )
    await harness.send("ble-1", beacon(KEY, NOW_MS))
    assert harness.of("member.arrived") == []


async def test_custom_rule_counts_in_its_window_and_fires_once(harness: Harness) -> None:
    for serial in range(7):
        ts = NOW_MS + serial * MIN
        await harness.send("rfid-fr2", rfid(epc(3, 100 + serial), "enter", "fitting-room-2", ts))
    [alert] = harness.of("custom.busy-room")
    assert alert.title == "fitting-room-2 is busy" and alert.body == "5 garments in 10 min"


async def test_replayed_events_raise_nothing_again(harness: Harness) -> None:
    event = rfid(epc(3, 1), "enter", "fitting-room-2", NOW_MS)
    event["id"] = "fixed"
    for _ in range(6):
        await harness.send("rfid-fr2", dict(event))
    assert harness.channel.alerts == []


async def test_a_live_store_s_clock_runs_on_when_its_devices_fall_quiet(harness: Harness) -> None:
    await harness.send("rfid-fr1", rfid(epc(0, 1), "enter", "fitting-room-1", NOW_MS))
    harness.now_ms[0] = NOW_MS + 9 * MIN  # nine minutes pass, not one event arrives
    [alert] = await harness.pipeline.evaluate_live_rules()
    assert alert.type == "fitting_room.unattended" and alert.zone == "fitting-room-1"
    assert await harness.pipeline.evaluate_live_rules() == []  # the same situation


async def test_a_replay_of_the_past_runs_on_event_time_only(harness: Harness) -> None:
    past = NOW_MS - 86_400_000
    await harness.send("rfid-fr1", rfid(epc(0, 1), "enter", "fitting-room-1", past))
    harness.now_ms[0] = NOW_MS + 9 * MIN
    assert await harness.pipeline.evaluate_live_rules() == []


async def test_an_outbox_catching_up_keeps_the_state_but_raises_nothing(harness: Harness) -> None:
    harness.now_ms[0] = NOW_MS + 3_600_000  # the reader's events arrive an hour late
    for index in (0, 1):
        harness.counter[0] += 1
        event = rfid(epc(index, 1), "enter", "fitting-room-2", NOW_MS + index * 1000)
        event["id"] = f"late{index}"
        await harness.pipeline.handle(
            "storesense/v1/s1/rfid-fr2/events", json.dumps(event).encode()
        )
    await harness.pipeline.evaluate_rules("s1", NOW_MS + 20 * MIN)
    await harness.dispatcher.drain()
    assert harness.channel.alerts == []  # size help and unattended were an hour ago
    raw = await harness.state.get("rules:sku:s1:2026-11-26")
    assert raw is not None and GTINS[1] in json.loads(raw)["tried"]


async def test_store_timezone_and_shifts_come_from_the_settings_alerts_use() -> None:
    shifts = [{"staff": ["a1", "a2", "a3", "a4"], "hours": "00:00-24:00"}]
    settings = load_settings(
        None,
        stores={"s1": {"timezone": "Asia/Shanghai"}},
        alerts={"stores": {"s1": {"shifts": shifts}}},
    )
    state = MemoryState()
    surge = "traffic_surge: {baseline_per_window: 1, min_entries: 8, entries_per_staff: 3}"
    config = RulesConfig.parse(
        yaml.safe_load(f"defaults:\n  {surge}\nstores:\n  s3: {{timezone: Europe/Paris}}")
    )
    engine = RuleEngine(state, config, policy=AlertPolicy(settings))
    assert (await engine.params("s1")).timezone == "Asia/Shanghai"
    assert (await engine.params("s2")).timezone == "UTC"
    assert (await engine.params("s3")).timezone == "Europe/Paris"  # the file's wins

    directory = await DirectoryCache(state, check_interval_s=0).current()

    async def entries(store: str, count: int) -> list[Any]:
        crossing = DoorCrossing(id=f"{store}-d", ts=NOW_MS, direction="in", count=count)
        accepted = AcceptedEvent(store, "door-1", crossing, msgspec.json.encode(crossing))
        return await engine.on_events([accepted], [], [], directory, NOW_MS)

    # Four on shift in s1: 10 entries are 2.5 per assistant, fewer than 3: no surge. Nobody
    # on shift in s2 (no shifts, no badges seen): the same 10 entries are a surge.
    assert await entries("s1", 10) == []
    [draft] = await entries("s2", 10)
    assert draft.type == "traffic.surge" and draft.facts["staff_on_shift"] == 0
    assert [d.facts["staff_on_shift"] for d in await entries("s1", 3)] == [4]  # 13 / 4 > 3
