"""Raising and the lifecycle on real state (memory and Redis): one alert per situation,
quiet hours, routing to the staff on shift, escalation and expiry announced once."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from rules import devices, fitting_room
from rules.drafts import AlertDraft
from rules.lifecycle.machine import Changed, Refused
from rules.lifecycle.outcomes import outcome_report
from rules.lifecycle.policy import AlertPolicy
from rules.lifecycle.service import AlertLifecycle, StaffRoles, run_timers
from rules.params import DeviceSilentRule, FittingRoomUnattendedRule
from rules.raiser import AlertRaiser
from rules.views import DeviceView, RoomView
from storesense.backends.state.base import DeviceRecord, StateStore
from storesense.backends.state.memory import MemoryState
from storesense.backends.state.redis import RedisState
from storesense.backends.timeseries.base import Point
from storesense.backends.timeseries.sqlite import SQLiteTimeSeries
from storesense.errors import BackendUnavailable, ConfigError
from storesense.protocol.alerts import Alert, AlertMember
from storesense.registry import stored
from storesense.registry.staff import StaffMember
from storesense.settings import Settings, load_settings
from tests.servers import Redis

# Thursday 2026-11-26 18:00 in Shanghai (10:00 UTC)
T0 = 1_795_658_400_000 + 8 * 3_600_000


class Clock:
    def __init__(self, ms: int = T0) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000


class Published:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def publish(self, alert: Alert) -> None:
        self.alerts.append(alert)


class Points:
    def __init__(self) -> None:
        self.points: list[Point] = []

    def submit(self, points: Sequence[Point]) -> None:
        self.points.extend(points)


def settings(**alerts: Any) -> Settings:
    return load_settings(None, alerts=alerts, stores={"s1": {"timezone": "Asia/Shanghai"}})


def draft(thing: str = "m1", ts_ms: int = T0, **changes: Any) -> AlertDraft:
    """A draft of the situation `thing@ts_ms` unless `subject` is given."""
    base: dict[str, Any] = {"type": "member.arrived", "store": "s1", "ts_ms": ts_ms,
                            "member": AlertMember(id=thing, name="Ann"),
                            "subject": f"{thing}@{ts_ms}"}  # fmt: skip
    return AlertDraft(**{**base, **changes})


def build(
    state: StateStore, config: Settings, clock: Callable[[], float]
) -> tuple[AlertRaiser, AlertLifecycle, Published, Points]:
    policy = AlertPolicy(config)
    published, points = Published(), Points()
    staff = StaffRoles(state)
    raiser = AlertRaiser(state, published, config.locale_for, clock,
                         policy=policy, points=points, staff=staff)  # fmt: skip
    lifecycle = AlertLifecycle(state, published.publish, policy, points=points, staff=staff,
                               clock=clock)  # fmt: skip
    return raiser, lifecycle, published, points


async def test_one_situation_raises_one_alert_and_the_cooldown_holds_back_the_next(
    state: StateStore,
) -> None:
    raiser, _, published, _ = build(state, settings(cooldown_s=600), Clock())
    first = await raiser.raise_alert(draft("m1"))
    same = await raiser.raise_alert(draft("m1", subject=f"m1@{T0}", ts_ms=T0 + 3_600_000))
    assert first is not None and same is None and raiser.suppressed == 0  # not a cooldown
    # A new situation of the same thing within the cooldown (event time), then after it.
    soon = await raiser.raise_alert(draft("m1", ts_ms=T0 + 599_000))
    later = await raiser.raise_alert(draft("m1", ts_ms=T0 + 600_000))
    other_thing = await raiser.raise_alert(draft("m2"))
    other_rule = await raiser.raise_alert(draft("m1", rule="member.returning"))
    assert soon is None and raiser.suppressed == 1
    assert later is not None and other_thing is not None and other_rule is not None
    assert first.rule == "member.arrived" and first.subject == f"m1@{T0}"
    assert len(published.alerts) == 4


@pytest.mark.parametrize("cooldown_s", [0, 600])
async def test_a_lasting_situation_re_evaluated_past_the_cooldown_raises_one_alert(
    state: StateStore, cooldown_s: int
) -> None:
    # An unattended fitting room, re-evaluated every 30 s for three hours.
    clock = Clock()
    raiser, _, published, _ = build(state, settings(cooldown_s=cooldown_s), clock)
    params = FittingRoomUnattendedRule(after_min=8)
    for session_start in (T0, T0 + 4 * 3_600_000):  # then, later, a new session in the room
        room = RoomView("fitting-room-2", session_start, False, False, tried=3)
        for clock.ms in range(session_start, session_start + 3 * 3_600_000, 30_000):
            found = fitting_room.unattended("s1", room, params, clock.ms)
            if found is not None:
                await raiser.raise_alert(found)
    assert [a.data["session_start_ts"] for a in published.alerts] == [T0, T0 + 4 * 3_600_000]
    assert raiser.suppressed == 0


async def test_a_situation_outlasting_a_pause_in_evaluation_raises_no_second_alert() -> None:
    # Workers restarted for an hour (wall time) while a device stayed offline.
    clock = Clock()
    state = MemoryState(clock=clock)
    raiser, _, published, _ = build(state, settings(cooldown_s=600), clock)
    record = DeviceRecord(store="s1", device="door-1", state="offline", ts_ms=T0)
    device = DeviceView(record, last_event_ms=T0)
    for clock.ms in [T0 + 5 * 60_000, T0 + 65 * 60_000, T0 + 26 * 3_600_000]:
        found = devices.device_down("s1", device, DeviceSilentRule(), clock.ms)
        assert found is not None
        await raiser.raise_alert(found)
    assert [a.type for a in published.alerts] == ["device.offline"]


class FailingOnce:
    """A state backend that is unreachable for the first `add_alert`."""

    def __init__(self, state: StateStore) -> None:
        self._state = state
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state, name)

    async def add_alert(self, alert: Alert, keep: int = 10_000) -> None:
        if not self.failed:
            self.failed = True
            raise BackendUnavailable("Redis is down")
        await self._state.add_alert(alert, keep)


async def test_an_alert_that_could_not_be_stored_is_raised_when_its_message_is_retried(
    state: StateStore,
) -> None:
    flaky: Any = FailingOnce(state)
    raiser, _, published, _ = build(flaky, settings(cooldown_s=600), Clock())
    with pytest.raises(BackendUnavailable):
        await raiser.raise_alert(draft("m1"))
    retried = await raiser.raise_alert(draft("m1"))  # the message, redelivered
    assert retried is not None and [a.id for a in published.alerts] == [retried.id]
    assert await raiser.raise_alert(draft("m1")) is None


async def test_concurrent_raisers_of_one_situation_raise_once(redis_server: Redis) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    states = [RedisState(redis_server.url, prefix=prefix) for _ in range(6)]
    try:
        raisers = [build(s, settings(), Clock())[0] for s in states]
        raised = await asyncio.gather(*(r.raise_alert(draft("m9")) for r in raisers))
        assert sum(a is not None for a in raised) == 1
    finally:
        for s in states:
            await s.close()


async def test_cooldown_can_be_set_per_rule(state: StateStore) -> None:
    config = settings(cooldown_s=600, cooldown_by_rule={"member.arrived": 0})
    raiser, _, _, _ = build(state, config, Clock())
    assert await raiser.raise_alert(draft("m1")) is not None
    assert await raiser.raise_alert(draft("m1", ts_ms=T0 + 1)) is not None  # no cooldown
    assert await raiser.raise_alert(draft("m1", ts_ms=T0 + 1)) is None  # still one situation
    assert raiser.suppressed == 0
    assert await raiser.raise_alert(draft("m1", rule="member.returning")) is not None
    again = draft("m1", ts_ms=T0 + 2, rule="member.returning")
    assert await raiser.raise_alert(again) is None and raiser.suppressed == 1  # 600 s


async def test_quiet_hours_store_the_alert_without_pushing_it(state: StateStore) -> None:
    # 10:00 UTC is 18:00 in Shanghai, inside the store's quiet window.
    config = settings(stores={"s1": {"quiet_hours": ["17:30-09:00"]}})
    raiser, _, published, _ = build(state, config, Clock())
    alert = await raiser.raise_alert(draft("m1"))
    assert alert is not None and alert.quiet
    assert published.alerts == [] and raiser.quiet == 1
    assert [a.id for a in await state.alerts("s1")] == [alert.id]
    # It is not escalated (nobody was told); it only expires.
    assert alert.due == T0 + config.alerts.expire_after_s * 1000
    loud = build(state, settings(stores={"s1": {"quiet_hours": ["09:00-17:30"]}}), Clock())
    assert (await loud[0].raise_alert(draft("m2"))) is not None and len(loud[2].alerts) == 1


async def test_alerts_go_to_staff_on_shift_covering_the_zone(state: StateStore) -> None:
    shifts = [
        {"staff": ["a1"], "hours": "17:00-22:00", "zones": ["fitting-room-*"]},
        {"staff": ["a2", "a3"], "hours": "17:00-22:00"},
        {"staff": ["a4"], "hours": "08:00-12:00"},  # not now (18:00 local)
        {"staff": ["a5"], "days": ["mon"], "hours": "00:00-24:00"},  # not on Thursdays
    ]
    config = settings(stores={"s1": {"shifts": shifts, "managers": ["boss"]}})
    raiser, _, _, _ = build(state, config, Clock())
    room = await raiser.raise_alert(draft("m1", zone="fitting-room-2"))
    floor = await raiser.raise_alert(draft("m2", zone="floor"))
    manager = await raiser.raise_alert(draft("sku-1", audience="manager", type="sku.not_selling"))
    assert room is not None and room.targets == ["a1"]
    assert floor is not None and floor.targets == ["a2", "a3"]
    assert manager is not None and manager.targets == ["boss"] and manager.audience == "manager"


async def test_escalation_goes_to_registry_managers_and_is_announced_once(
    state: StateStore,
) -> None:
    await stored.save(state, [StaffMember(staff_id="a1", name="A"),
                              StaffMember(staff_id="m1", name="M", role="manager")])  # fmt: skip
    clock = Clock()
    config = settings(escalate_after_s=60, expire_after_s=300)
    raiser, lifecycle, published, points = build(state, config, clock)
    # A second worker on the same state, with its own publisher and points.
    _, other, other_published, other_points = build(state, config, clock)
    alert = await raiser.raise_alert(draft("m1"))
    assert alert is not None and alert.due == T0 + 60_000
    clock.ms = T0 + 59_999
    assert await lifecycle.tick() == 0
    clock.ms = T0 + 60_000
    made = await asyncio.gather(lifecycle.tick(), other.tick())
    assert sorted(made) == [0, 1]
    escalations = [a for a in published.alerts + other_published.alerts if a.state == "escalated"]
    assert len(escalations) == 1 and escalations[0].targets == ["m1"]
    clock.ms = T0 + 300_000
    assert sum(await asyncio.gather(lifecycle.tick(), other.tick())) == 1
    final = await state.alert(alert.id)
    assert final is not None and final.state == "expired" and final.version == 3
    # Either worker may win the expiry; the outcome is written once, by the winner.
    outcomes = [
        p.tags["outcome"]
        for p in points.points + other_points.points
        if p.measurement == "alert_outcome"
    ]
    assert outcomes == ["expired"]


async def test_claim_and_resolve_record_outcomes_and_announce_changes(
    state: StateStore, tmp_path: Any
) -> None:
    clock = Clock()
    raiser, lifecycle, published, points = build(state, settings(), clock)
    alert = await raiser.raise_alert(draft("m1"))
    assert alert is not None
    clock.ms += 30_000
    claimed = await lifecycle.claim(alert.id, "a1")
    refused = await lifecycle.claim(alert.id, "a2")
    assert isinstance(claimed, Changed) and isinstance(refused, Refused)
    assert refused.reason == "taken" and refused.alert is not None
    assert refused.alert.claimed_by == "a1"
    clock.ms += 60_000
    resolved = await lifecycle.resolve(alert.id, "a1", "purchased")
    assert isinstance(resolved, Changed)
    assert [a.state for a in published.alerts] == ["open", "claimed", "resolved"]
    assert [a.version for a in published.alerts] == [1, 2, 3]
    outcome = next(p for p in points.points if p.measurement == "alert_outcome")
    assert outcome.tags["outcome"] == "purchased"
    assert outcome.fields["time_to_claim_ms"] == 30_000
    assert outcome.fields["time_to_resolve_ms"] == 90_000
    series = SQLiteTimeSeries(tmp_path / "ts.sqlite")
    try:
        await series.write(points.points)
        report = await outcome_report(series, "s1", 0, (T0 + 10**7) * 10**6)
    finally:
        await series.close()
    counts = report["member.arrived"]
    assert counts["raised"] == 1 and counts["claimed"] == 1 and counts["purchased"] == 1
    assert counts["served"] == 0 and counts["expired"] == 0


async def test_unknown_staff_cannot_claim_once_the_registry_has_staff(state: StateStore) -> None:
    await stored.save(state, [StaffMember(staff_id="a1", name="A")])
    raiser, lifecycle, _, _ = build(state, settings(), Clock())
    alert = await raiser.raise_alert(draft("m1"))
    assert alert is not None
    refused = await lifecycle.claim(alert.id, "intruder")
    assert isinstance(refused, Refused) and refused.reason == "unknown_staff"
    assert isinstance(await lifecycle.claim(alert.id, "a1"), Changed)


async def test_timer_loop_escalates_after_n_seconds_and_expires_after_m(
    redis_server: Redis,
) -> None:
    state = RedisState(redis_server.url, prefix=f"t{uuid.uuid4().hex[:8]}")
    config = settings(escalate_after_s=1, expire_after_s=2)
    raiser, lifecycle, published, _ = build(state, config, time.time)  # real time here
    timers = [asyncio.create_task(run_timers(lifecycle, 0.05)) for _ in range(2)]
    try:
        alert = await raiser.raise_alert(draft("m1"))
        assert alert is not None
        await asyncio.sleep(1.4)
        assert [a.state for a in published.alerts] == ["open", "escalated"]
        await asyncio.sleep(1.0)
        assert [a.state for a in published.alerts] == ["open", "escalated", "expired"]
    finally:
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)
        await state.close()


@pytest.mark.parametrize(
    ("alerts", "named"),
    [
        ({"quiet_hours": ["22:00-25:00"]}, "alerts.quiet_hours"),
        ({"stores": {"s1": {"quiet_hours": ["10-12"]}}}, "alerts.stores.s1.quiet_hours"),
        ({"stores": {"s1": {"shifts": [{"staff": []}]}}}, "alerts.stores.s1.shifts.0.staff"),
        ({"stores": {"s1": {"shifts": [{"staff": ["a"], "days": ["fr"]}]}}}, "shifts.0.days"),
        ({"escalate_after_s": 0}, "alerts.escalate_after_s"),
    ],
)
def test_bad_alert_settings_are_named(alerts: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        load_settings(None, alerts=alerts)
