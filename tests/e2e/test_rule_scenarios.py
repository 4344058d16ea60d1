"""A simulated store day replayed through the ingest pipeline and the rules, on real Redis:
every built-in rule the simulator can exercise fires exactly when its ground truth says,
once per situation, and never for non-consenting or anonymous visitors.

The expectations are computed independently from the simulator's ground truth and the
events its devices emitted (fitting-room sessions, staff visits, try-ons, sales, door
counts). Where the service's periodic evaluation (every 30 s of event time) makes a case
a matter of seconds, the case is left out rather than guessed. The main day has no floor
or backroom readers, so restock must stay silent there, and a replay of a day with them
(`stock_readers`) checks it against the simulator's restock situations; the main day has no
member away for 60 days, so member.returning must stay silent too, and a second replay (an
hour 70 days earlier, then today) checks member.returning.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
import yaml
from prometheus_client import CollectorRegistry

from ingest.directory import DirectoryCache
from ingest.metrics import IngestMetrics
from ingest.pipeline import Pipeline
from rules.delivery.dispatcher import Dispatcher
from rules.engine import RuleEngine
from rules.params import RulesConfig
from rules.raiser import AlertRaiser
from simulators.run import SimulationOptions, SimulationPlan, plan_simulation, run_simulation
from simulators.scenario import Emission
from storesense.backends.state.base import StateStore
from storesense.backends.state.redis import RedisState
from storesense.backends.timeseries.base import Point
from storesense.protocol.alerts import Alert
from storesense.protocol.events import DeviceStatus, DoorCrossing, PosSale, RfidTag, encode_status
from storesense.protocol.sgtin import InvalidSgtin, decode_sgtin96
from storesense.protocol.topics import Topics
from storesense.registry import stored
from storesense.registry.members import Member
from storesense.registry.products import Product
from storesense.registry.staff import StaffMember
from storesense.settings import IngestSettings
from storesense.stack import running_stack
from tests.e2e.helpers import eventually, stack_settings
from tests.e2e.test_simulated_day import accepted_events
from tests.e2e.truth_check import expected_member_visits
from tests.servers import Mosquitto, Redis

pytestmark = pytest.mark.slow

STORE = "flagship"
DAY_START_MS = 1_795_600_800_000
MIN = 60_000
DAY_MS = 86_400_000
DOOR_DIES_AFTER_MS = 3 * 3_600_000  # the door counter stops sending after three hours
SLACK_MS = 2 * MIN  # periodic evaluation: cases this close to a boundary are not asserted
RULES = """
defaults:
  fitting_room_unattended: {after_min: 5}
  fitting_room_help: {min_sizes: 2, min_items: 4}
  sku_tried_not_bought: {min_tries: 2, grace_min: 30}
  traffic_surge: {window_min: 10, factor: 2, min_entries: 8, baseline_per_window: 4,
                  staff_on_shift: 2, entries_per_staff: 5}
  device_silent: {offline_after_s: 120, silent_after_min: {door: 30}}
custom:
  - id: busy-room
    when: {type: rfid.tag, zone: "fitting-room-*", fields: [{field: action, value: enter}]}
    count: {at_least: 6, within_min: 10, per: zone}
    title: {en: "$zone is busy", zh-CN: "$zone 繁忙"}
    body: {en: "$count in $within_min min", zh-CN: "$count 件"}
"""
CONFIG = RulesConfig.parse(yaml.safe_load(RULES))


class _Sink:
    """Points are not what this test is about: kept in memory."""

    def __init__(self) -> None:
        self.points: list[Point] = []

    def submit(self, points: Any) -> None:
        self.points.extend(points)

    async def flush(self, deadline_s: float | None = None) -> None:
        return None

    buffered = spooled = dropped = 0


@dataclass
class Replay:
    plan: SimulationPlan
    emissions: list[Emission]  # what reached the service (the door counter died)
    alerts: list[Alert]

    def of(self, type_: str) -> list[Alert]:
        return [alert for alert in self.alerts if alert.type == type_]


def day_options(**overrides: Any) -> SimulationOptions:
    values: dict[str, Any] = {
        "store": STORE, "seed": 11, "speed": 0, "duration_s": 4 * 3600,
        "start_ms": DAY_START_MS, "visitors_per_hour": 90, "member_count": 120,
    }  # fmt: skip
    return SimulationOptions(**(values | overrides))


@pytest.fixture(scope="module")
def replay(redis_server: Redis) -> Replay:
    """The day, replayed once for every test of this module (in its own event loop)."""
    return asyncio.run(_replay(redis_server))


async def _replay(redis_server: Redis) -> Replay:
    plan = plan_simulation(day_options())
    delivered = [
        emission
        for emission in plan.scenario.emissions
        if emission.device != "door-1" or emission.at_ms <= DAY_START_MS + DOOR_DIES_AFTER_MS
    ]
    alerts = await _through_pipeline(redis_server, plan, [delivered])
    return Replay(plan, delivered, alerts)


async def _through_pipeline(
    redis_server: Redis, plan: SimulationPlan, days: list[list[Emission]]
) -> list[Alert]:
    """Each day's emissions, one event per message in time order, through one ingest
    pipeline with the rules (the clock is the event time); the alerts raised."""
    state = RedisState(redis_server.url, prefix=f"t{uuid.uuid4().hex[:8]}")
    await _registries(state, plan)
    now = [days[0][0].at_ms]
    async with Dispatcher([]) as dispatcher:
        pipeline = Pipeline(
            topics=Topics(),
            state=state,
            points=_Sink(),
            directory=DirectoryCache(state, check_interval_s=0),
            raiser=AlertRaiser(state, dispatcher, lambda _: "en", clock=lambda: now[0] / 1000),
            metrics=IngestMetrics(CollectorRegistry()),
            settings=IngestSettings(),
            rules=RuleEngine(state, CONFIG),
            clock=lambda: now[0] / 1000,
        )
        for emissions in days:
            for device, kind in plan.scenario.devices.items():
                status = DeviceStatus(state="online", ts=emissions[0].at_ms, kind=kind)
                topic = f"storesense/v1/{STORE}/{device}/status"
                await pipeline.handle(topic, encode_status(status))
            for emission in emissions:
                now[0] = emission.at_ms
                payload = msgspec.json.encode(emission.event)
                await pipeline.handle(f"storesense/v1/{STORE}/{emission.device}/events", payload)
        alerts = await state.alerts(STORE, limit=100_000)
    await state.close()
    return alerts


async def _registries(state: StateStore, plan: SimulationPlan) -> None:
    members = [
        Member(
            member_id=m.member_id,
            name=m.name,
            tier=m.tier,
            phone=m.phone,
            consent=m.consent,
            card_epcs=(m.card_epc,),
            app_key=m.app_key.hex() if m.app_key else None,
        )
        for m in plan.members
    ]
    await stored.save(state, members)
    await stored.save(
        state,
        [
            Product(gtin=p.gtin, style=p.style, name=p.name, colour=p.colour, size=p.size)
            for p in plan.catalog
        ],
    )
    await stored.save(
        state, [StaffMember(staff_id=s.staff_id, name=s.name, badge_epcs=(s.badge_epc,))
                for s in plan.staff],
    )  # fmt: skip


# -- ground truth from what the devices saw ------------------------------------------------------


@dataclass
class Session:
    zone: str
    start_ms: int
    end_ms: int
    garments: list[tuple[int, str, str]]  # (enter ms, epc, gtin), first enters in the session
    staff_enters: list[int]
    staff_at_start: bool


def sessions(replay: Replay) -> list[Session]:
    badges = {s.badge_epc for s in replay.plan.staff}
    found: list[Session] = []
    inside: dict[str, set[str]] = defaultdict(set)
    staff_inside: dict[str, set[str]] = defaultdict(set)
    open_: dict[str, Session] = {}
    for emission in replay.emissions:
        event = emission.event
        if not isinstance(event, RfidTag) or not event.zone.startswith("fitting-room"):
            continue
        zone, ts = event.zone, event.ts_ms
        if event.epc in badges:
            if event.action == "enter":
                staff_inside[zone].add(event.epc)
                if zone in open_:
                    open_[zone].staff_enters.append(ts)
            else:
                staff_inside[zone].discard(event.epc)
            continue
        if event.action == "enter":
            if not inside[zone]:
                open_[zone] = Session(zone, ts, 0, [], [], bool(staff_inside[zone]))
            inside[zone].add(event.epc)
            session = open_[zone]
            if event.epc not in {epc for _, epc, _ in session.garments}:
                session.garments.append((ts, event.epc, decode_sgtin96(event.epc).gtin))
        else:
            inside[zone].discard(event.epc)
            if not inside[zone] and zone in open_:
                session = open_.pop(zone)
                session.end_ms = ts
                found.append(session)
    return found


# -- the rules ---------------------------------------------------------------------------------


async def test_member_arrivals_match_the_recognisable_visits(replay: Replay) -> None:
    truth = replay.plan.scenario.truth
    arrived = replay.of("member.arrived")
    assert Counter(a.member.id for a in arrived if a.member) == expected_member_visits(truth)
    assert sum(expected_member_visits(truth).values()) > 10  # a real day, not a toy
    not_consenting = {m.member_id for m in replay.plan.members if not m.consent}
    assert all(a.member is None or a.member.id not in not_consenting for a in replay.alerts)
    assert len({(a.member.id, a.data["visit_start_ts"]) for a in arrived if a.member}) == len(
        arrived
    )
    assert replay.of("member.returning") == []  # nobody was away for 60 days


async def test_members_back_after_60_days_are_welcomed_back_once(redis_server: Redis) -> None:
    """An hour of the store 70 days earlier, then two hours today (same members, other
    visitors): a member recognised in both is `member.returning` once, on their first
    visit of today; members new today are not."""
    earlier = plan_simulation(day_options(start_ms=DAY_START_MS - 70 * DAY_MS, duration_s=3600))
    today = plan_simulation(day_options(duration_s=2 * 3600))
    assert [m.app_key for m in earlier.members] == [m.app_key for m in today.members]
    days = [earlier.scenario.emissions, today.scenario.emissions]
    alerts = await _through_pipeline(redis_server, today, days)
    seen_earlier = set(expected_member_visits(earlier.scenario.truth))
    seen_today = set(expected_member_visits(today.scenario.truth))
    back = seen_earlier & seen_today
    assert back and seen_today - seen_earlier  # both kinds of member today
    returning = [a for a in alerts if a.type == "member.returning"]
    assert Counter(a.member.id for a in returning if a.member) == Counter(back)
    assert all(a.data["absent_days"] >= 69 for a in returning)
    first_visit = {
        a.member.id: a.data["visit_start_ts"]
        for a in sorted(alerts, key=lambda a: -a.data.get("visit_start_ts", 0))
        if a.type == "member.arrived" and a.member and a.ts >= DAY_START_MS
    }
    assert {a.member.id: a.data["visit_start_ts"] for a in returning if a.member} == {
        member: first_visit[member] for member in back
    }


async def test_unattended_fitting_rooms_match_the_sessions(replay: Replay) -> None:
    after = 5 * MIN
    fired = {(a.zone, a.data["session_start_ts"]) for a in replay.of("fitting_room.unattended")}
    assert len(fired) == len(replay.of("fitting_room.unattended"))  # once per session
    should, should_not = set(), set()
    for s in sessions(replay):
        key = (s.zone, s.start_ms)
        due = s.start_ms + after
        helped = s.staff_at_start or any(t < due for t in s.staff_enters)
        if helped or s.end_ms < due:
            should_not.add(key)
        elif s.end_ms > due + SLACK_MS and not any(t < due + SLACK_MS for t in s.staff_enters):
            should.add(key)
    assert len(should) >= 3 and len(should_not) >= 10
    assert should <= fired
    assert not fired & should_not


async def test_fitting_room_help_matches_sizes_and_items(replay: Replay) -> None:
    products = {p.gtin: p for p in replay.plan.catalog}
    fired = {(a.zone, a.data["session_start_ts"]): a for a in replay.of("fitting_room.help")}
    assert len(fired) == len(replay.of("fitting_room.help"))
    expected = {}
    for s in sessions(replay):
        # Evaluated at each garment's entry: the first need seen is the one reported.
        styles: dict[str, set[str]] = defaultdict(set)
        for count, (_, _, gtin) in enumerate(s.garments, start=1):
            styles[products[gtin].style].add(products[gtin].size)
            if any(len(sizes) >= 2 for sizes in styles.values()):
                expected[(s.zone, s.start_ms)] = "sizes"
                break
            if count >= 4:
                expected[(s.zone, s.start_ms)] = "items"
                break
    assert expected and {k: a.data["kind"] for k, a in fired.items()} == expected


async def test_skus_tried_and_not_bought_match_the_day(replay: Replay) -> None:
    grace, last_ms = 30 * MIN, replay.emissions[-1].at_ms
    tried: dict[str, list[int]] = defaultdict(list)
    for s in sessions(replay):
        for ts, _, gtin in s.garments:
            tried[gtin].append(ts)
    sold: dict[str, list[int]] = defaultdict(list)
    for emission in replay.emissions:
        if isinstance(emission.event, PosSale):
            for item in emission.event.items:
                try:
                    sold[decode_sgtin96(item.epc or "").gtin].append(emission.at_ms)
                except InvalidSgtin:
                    continue
    should, should_not = set(), set()
    for gtin, times in tried.items():
        if len(times) < 2:
            should_not.add(gtin)
            continue
        due = sorted(times)[1] + grace
        sales = sold.get(gtin, [])
        if any(t < due for t in sales) or due > last_ms:
            should_not.add(gtin)
        elif not any(t < due + SLACK_MS for t in sales) and due + SLACK_MS < last_ms:
            should.add(gtin)
    alerts = replay.of("sku.tried_not_bought")
    fired = {a.data["gtin"] for a in alerts}
    assert len(fired) == len(alerts) and all(a.audience == "manager" for a in alerts)
    assert should and should <= fired and not fired & should_not


async def test_traffic_surges_match_the_door_counts(replay: Replay) -> None:
    threshold = max(8, 2 * 4, 5 * 2)  # min_entries, factor x baseline, per staff x staff
    doors = [
        (e.at_ms, e.event.count)
        for e in replay.emissions
        if isinstance(e.event, DoorCrossing) and e.event.direction == "in"
    ]
    peak: dict[int, int] = defaultdict(int)  # hour -> most entries in a 10-minute window
    for ts, _ in doors:
        window = sum(n for t, n in doors if ts - 10 * MIN < t <= ts)
        hour = ts - ts % 3_600_000
        peak[hour] = max(peak[hour], window)
    alerts = replay.of("traffic.surge")
    fired = {a.ts for a in alerts}
    assert len(fired) == len(alerts)  # at most one per hour
    certain = {hour for hour, most in peak.items() if most >= threshold + 2}
    never = {hour for hour, most in peak.items() if most < threshold - 2}
    assert certain <= fired and not fired & never


async def test_the_dead_door_counter_is_reported_once_and_nothing_else(replay: Replay) -> None:
    last_door = max(e.at_ms for e in replay.emissions if e.device == "door-1")
    [silent] = replay.of("device.silent")
    assert silent.data["device"] == "door-1" and silent.data["since_ts"] == last_door
    assert replay.of("device.offline") == []
    assert replay.of("stock.restock") == []  # no floor or backroom readers in this store


async def test_restock_fires_once_per_floor_outage_of_a_tried_sku(redis_server: Redis) -> None:
    """A day with floor and backroom readers: garments taken from the floor, fetched from
    the backroom, bought, hung back after the fitting room and carried out by staff. Each
    restock situation of the truth (a SKU tried while none of it is on the floor and the
    backroom has some, once per time its floor ran out) raises exactly one alert, dated at
    its first such try-on; nothing else does."""
    plan = plan_simulation(day_options(duration_s=3 * 3600, stock_readers=True))
    emissions = plan.scenario.emissions
    truth = plan.scenario.truth.restocks
    _check_the_day_has_every_kind_of_case(emissions, truth)
    alerts = await _through_pipeline(redis_server, plan, [emissions])
    restocks = [a for a in alerts if a.type == "stock.restock"]
    assert Counter(a.subject for a in restocks) == Counter(s.subject for s in truth)
    by_subject = {s.subject: s for s in truth}
    for alert in restocks:
        situation = by_subject[str(alert.subject)]
        assert alert.ts == situation.tried_ms
        assert alert.data["gtin"] == situation.gtin
        assert alert.data["backroom"] == situation.backroom
    # The stock readers change nothing else: the same day without them raises the same rest.
    plain = plan_simulation(day_options(duration_s=3 * 3600))
    without = await _through_pipeline(redis_server, plain, [plain.scenario.emissions])
    others = {(a.type, a.subject) for a in alerts if a.type != "stock.restock"}
    assert others == {(a.type, a.subject) for a in without} and len(others) > 50


def _check_the_day_has_every_kind_of_case(emissions: list[Emission], truth: list[Any]) -> None:
    """Independently of the truth's own bookkeeping: try-ons with stock on the floor, with
    none on the floor and none in the backroom, several in one outage, and SKUs whose floor
    ran out twice (restocked between), so that "exactly once per situation" means something."""
    floor: dict[str, set[str]] = defaultdict(set)
    backroom: dict[str, set[str]] = defaultdict(set)
    kinds: Counter[str] = Counter()
    for e in emissions:
        event = e.event
        if isinstance(event, PosSale):
            for item in event.items:
                for held in (*floor.values(), *backroom.values()):
                    held.discard(item.epc or "")
        if not isinstance(event, RfidTag):
            continue
        try:
            gtin = decode_sgtin96(event.epc).gtin
        except InvalidSgtin:
            continue
        for prefix, tags in (("floor", floor), ("backroom", backroom)):
            if event.zone.startswith(prefix):
                (tags[gtin].add if event.action == "enter" else tags[gtin].discard)(event.epc)
        if event.zone.startswith("fitting-room") and event.action == "enter":
            if floor[gtin]:
                kinds["on floor"] += 1
            elif backroom[gtin]:
                kinds["restock"] += 1
            else:
                kinds["none anywhere"] += 1
    twice = Counter(s.gtin for s in truth)
    assert len(truth) >= 20 and kinds["on floor"] >= 20 and kinds["none anywhere"] >= 5
    assert kinds["restock"] > len(truth)  # some outages were tried more than once
    assert any(n >= 2 for n in twice.values())  # restocked, then out again


async def test_custom_rule_fires_on_bursts_of_garments(replay: Replay) -> None:
    window, at_least = 10 * MIN, 6
    expected = set()
    times: dict[str, list[int]] = defaultdict(list)
    for e in replay.emissions:
        event = e.event
        if (
            isinstance(event, RfidTag)
            and event.zone.startswith("fitting-room")
            and event.action == "enter"
        ):
            recent = [t for t in times[event.zone] if t > event.ts_ms - window] + [event.ts_ms]
            if len(recent) >= at_least:
                expected.add((event.zone, recent[0]))
                recent = []
            times[event.zone] = recent
    fired = {(a.zone, a.data["window_start_ts"]) for a in replay.of("custom.busy-room")}
    assert fired == expected and len(fired) == len(replay.of("custom.busy-room"))
    assert all(a.title == f"{a.zone} is busy" for a in replay.of("custom.busy-room"))


async def test_the_day_through_mosquitto_raises_the_same_situations(
    replay: Replay, mosquitto: Mosquitto, redis_server: Redis, tmp_path: Any
) -> None:
    """The whole stack (real Mosquitto and Redis, events in batches of 50, the rules file
    from settings, the wall clock) raises the alerts the direct replay did, situation for
    situation. The day is moved whole weeks ahead, so that it is not history to the service
    (history raises nothing) and every hour, weekday and app-ID window lines up the same."""
    week = 7 * 86_400_000
    start_ms = DAY_START_MS + week * (1 + (int(time.time() * 1000) - DAY_START_MS) // week)
    shift = start_ms - DAY_START_MS
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES, encoding="utf-8")
    settings = stack_settings(
        tmp_path,
        broker={"url": mosquitto.url},
        state={"redis_url": redis_server.url, "key_prefix": f"t{uuid.uuid4().hex[:8]}"},
        ingest={"rules_path": rules_file},
        topic_root=f"r{uuid.uuid4().hex[:8]}",
    )
    async with running_stack(settings) as stack:
        await _registries(stack.state, replay.plan)
        options = day_options(
            start_ms=start_ms, port=mosquitto.port, topic_root=settings.topic_root, batch_size=50
        )
        report = await run_simulation(options)
        await eventually(lambda: accepted_events(stack), lambda n: n == report.events, timeout=120)
        alerts = await stack.state.alerts(STORE, limit=100_000)

    def situations(found: list[Alert], type_: str, shift: int) -> set[tuple[str | None, int]]:
        field = {
            "member.arrived": "visit_start_ts",
            "fitting_room.help": "session_start_ts",
            "custom.busy-room": "window_start_ts",
        }[type_]
        return {
            (a.member.id if a.member else a.zone, int(a.data[field]) - shift)
            for a in found
            if a.type == type_
        }

    for type_ in ("member.arrived", "fitting_room.help", "custom.busy-room"):
        expected = situations(replay.alerts, type_, 0)
        assert expected and situations(alerts, type_, shift) == expected, type_
