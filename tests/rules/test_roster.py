"""What alert routing reads from the registry (rules/lifecycle/roster.py): staff reloaded
when the staff registry's version changes, stores re-read after their TTL, registry first
and the settings for stores the registry says nothing about."""

from __future__ import annotations

from rules.lifecycle.policy import AlertPolicy
from rules.lifecycle.roster import AlertRouting, Roster
from storesense.backends.state.base import StateStore
from storesense.registry import stored
from storesense.registry.organisation import Store
from storesense.registry.staff import Shift, StaffMember
from storesense.registry.stores import create_store, replace_store
from storesense.settings import load_settings

NOW_MS = 1_795_658_400_000  # a Thursday, 02:00 UTC (10:00 in Shanghai)


class Clock:
    def __init__(self) -> None:
        self.s = 0.0

    def __call__(self) -> float:
        return self.s


def routing(state: StateStore, clock: Clock, **alerts: object) -> AlertRouting:
    settings = load_settings(None, stores={"s1": {"timezone": "UTC"}}, alerts=alerts)
    return AlertRouting(AlertPolicy(settings), Roster(state, clock=clock))


async def test_registry_shifts_replace_the_settings_and_are_seen_once_written(
    state: StateStore,
) -> None:
    shifts = [{"staff": ["old"], "hours": "00:00-24:00"}]
    route = routing(state, Clock(), stores={"s1": {"shifts": shifts}, "s2": {"shifts": shifts}})
    assert await route.on_shift("s1", NOW_MS) == ["old"]
    await stored.save(state, [
        StaffMember(staff_id="a1", name="A", shifts=(Shift(store="s1", hours="01:00-03:00"),)),
        StaffMember(staff_id="a2", name="B", shifts=(Shift(store="s1", hours="03:00-04:00"),)),
    ])  # fmt: skip
    assert await route.on_shift("s1", NOW_MS) == ["a1"]  # a2's shift is later
    assert await route.staff_on_shift("s1", NOW_MS) == 1
    assert await route.on_shift("s2", NOW_MS) == ["old"]  # no registry shifts in s2
    assert await route.staff_on_shift("s3", NOW_MS) is None  # no shifts anywhere


async def test_store_timezone_comes_from_the_registry_re_read_after_its_ttl(
    state: StateStore,
) -> None:
    clock = Clock()
    route = routing(state, clock)
    await stored.save(state, [StaffMember(
        staff_id="a1", name="A", shifts=(Shift(store="s1", hours="09:00-11:00"),)
    )])  # fmt: skip
    assert await route.timezone("s1") == "UTC"
    assert await route.on_shift("s1", NOW_MS) == []  # 02:00 UTC
    await create_store(state, Store(id="s1", name="S", timezone="Asia/Shanghai"))
    assert await route.timezone("s1") == "UTC"  # cached for a few seconds
    clock.s = 5.0
    assert await route.timezone("s1") == "Asia/Shanghai"
    assert await route.on_shift("s1", NOW_MS) == ["a1"]  # 10:00 in Shanghai
    assert await route.roster.locale("s1") == "en"
    await replace_store(state, Store(id="s1", name="S", timezone="UTC", locale="zh-CN"))
    clock.s = 10.0
    assert await route.roster.locale("s1") == "zh-CN"


async def test_escalations_go_to_the_store_s_managers(state: StateStore) -> None:
    route = routing(state, Clock())
    await stored.save(state, [
        StaffMember(staff_id="m1", name="M1", role="manager", stores=("s1",)),
        StaffMember(staff_id="m2", name="M2", role="manager", stores=("s2",)),
        StaffMember(staff_id="m3", name="M3", role="store_manager",
                    shifts=(Shift(store="s1"),)),
        StaffMember(staff_id="hq", name="HQ", role="manager"),
    ])  # fmt: skip
    assert await route.managers("s1") == ["m1", "m3"]
    assert await route.managers("s3") == ["hq"]  # nobody's: those tied to no store
    configured = routing(state, Clock(), stores={"s1": {"managers": ["boss"]}})
    assert await configured.managers("s1") == ["boss"]
