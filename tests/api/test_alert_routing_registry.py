"""Alert routing follows the registry, on real Mosquitto and Redis: a shift a store manager
sets over the API (the web app's Staff view) changes who the next alert goes to, raised by
another process (an ingest worker); a store without registry shifts keeps the settings'
shifts; the registry's store timezone and locale win over the settings'; the surge rule
counts the staff on shift as routing does."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest
import yaml

from ingest.directory import DirectoryCache
from rules.drafts import AlertDraft
from rules.engine import RuleEngine
from rules.lifecycle.policy import AlertPolicy
from rules.params import RulesConfig
from storesense.backends.state.redis import RedisState
from storesense.protocol.alerts import AlertMember
from storesense.protocol.decode import AcceptedEvent
from storesense.protocol.events import DoorCrossing
from storesense.registry import stored
from storesense.registry.organisation import Store
from storesense.registry.staff import StaffMember
from storesense.registry.stores import create_store
from storesense.stack import RunningStack, running_stack
from tests.api.auth_helpers import bearer, token_for
from tests.api.stacks import real_stack_settings
from tests.api.test_alert_lifecycle_api import worker
from tests.servers import Mosquitto, Redis

ALL_DAY = {"hours": "00:00-24:00"}


@pytest.fixture
async def stack(
    tmp_path: Path, mosquitto: Mosquitto, redis_server: Redis
) -> AsyncIterator[RunningStack]:
    stores = {"a": {"timezone": "UTC"}, "b": {"timezone": "UTC"}, "c": {"timezone": "UTC"}}
    alerts = {
        "stores": {
            # What routed alerts before the registry had shifts: kept as the fallback.
            "a": {"shifts": [{"staff": ["old-a"], **ALL_DAY}]},
            "b": {"shifts": [{"staff": ["settings-b"], **ALL_DAY}]},
            "c": {"shifts": [{"staff": ["settings-c"], **ALL_DAY}], "quiet_hours": []},
        }
    }
    settings = real_stack_settings(tmp_path, mosquitto, redis_server, stores=stores, alerts=alerts)
    async with running_stack(settings) as running:
        await stored.save(running.state, [
            StaffMember(staff_id="ann", name="Ann", role="assistant", stores=("a",)),
            StaffMember(staff_id="cai", name="Cai", role="assistant", stores=("a",)),
            StaffMember(staff_id="dan", name="Dan", role="assistant", stores=("c",)),
            StaffMember(staff_id="bob", name="Bob", role="assistant", stores=("b",)),
        ])  # fmt: skip
        yield running


def draft(subject: str, store: str = "a", zone: str | None = None) -> AlertDraft:
    return AlertDraft(type="member.arrived", store=store, ts_ms=int(time.time() * 1000),
                      member=AlertMember(id=subject, name="Ann"), subject=subject,
                      zone=zone)  # fmt: skip


async def test_a_shift_set_in_the_app_routes_the_next_alert(stack: RunningStack) -> None:
    manager = bearer(await token_for(stack.state, "store_manager", ["a"]))
    shifts = "/api/v1/stores/a/staff/{}/shifts"
    async with (
        worker(stack.settings) as delivery,
        httpx.AsyncClient(base_url=stack.api_url, headers=manager) as client,
    ):
        raise_alert = delivery.raiser.raise_alert
        # No shifts in the registry yet: the settings' shifts, as before.
        before = await raise_alert(draft("m1"))
        assert before is not None and before.targets == ["old-a"]

        answer = await client.put(shifts.format("ann"), json={"shifts": [ALL_DAY]})
        assert answer.status_code == 200, answer.text
        after = await raise_alert(draft("m2"))
        assert after is not None and after.targets == ["ann"]  # not the settings' old-a

        # Cai covers the fitting rooms: their alerts go to him, the floor's to Ann.
        answer = await client.put(
            shifts.format("cai"), json={"shifts": [{**ALL_DAY, "zones": ["fitting-room-*"]}]}
        )
        assert answer.status_code == 200, answer.text
        room = await raise_alert(draft("m3", zone="fitting-room-2"))
        floor = await raise_alert(draft("m4", zone="floor"))
        assert room is not None and room.targets == ["cai"]
        assert floor is not None and floor.targets == ["ann"]

        # A shift that is not now routes nothing to Ann.
        later = (datetime.now(UTC) + timedelta(hours=3)).replace(minute=0)
        window = f"{later:%H:00}-{later + timedelta(hours=1):%H:00}"
        answer = await client.put(shifts.format("ann"), json={"shifts": [{"hours": window}]})
        assert answer.status_code == 200, answer.text
        floor = await raise_alert(draft("m5", zone="floor"))
        assert floor is not None and floor.targets == ["cai"]  # the only one on shift

        # Store b has no registry shifts: still routed by the settings.
        other = await raise_alert(draft("m6", store="b"))
        assert other is not None and other.targets == ["settings-b"]

        # Every registry shift of a removed: the settings' shifts again.
        for person in ("ann", "cai"):
            answer = await client.put(shifts.format(person), json={"shifts": []})
            assert answer.status_code == 200, answer.text
        back = await raise_alert(draft("m7"))
        assert back is not None and back.targets == ["old-a"]


async def test_the_registry_store_s_timezone_and_locale_win(stack: RunningStack) -> None:
    # Settings say UTC and en; the registry says Shanghai and zh-CN. Dan's shift is the
    # next two hours in Shanghai: 8 hours off in UTC, so routed to him only in Shanghai time.
    await create_store(
        stack.state, Store(id="c", name="C", timezone="Asia/Shanghai", locale="zh-CN")
    )
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    window = f"{local:%H}:00-{local + timedelta(hours=2):%H}:00"
    hq = bearer(await token_for(stack.state, "hq_admin"))
    async with (
        worker(stack.settings) as delivery,
        httpx.AsyncClient(base_url=stack.api_url, headers=hq) as client,
    ):
        answer = await client.put(
            "/api/v1/stores/c/staff/dan/shifts", json={"shifts": [{"hours": window}]}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["on_shift_now"] is True  # as the Staff view shows it
        alert = await delivery.raiser.raise_alert(draft("m1", store="c"))
    assert alert is not None
    assert alert.targets == ["dan"] and alert.locale == "zh-CN"


async def test_the_surge_rule_counts_the_registry_s_staff_on_shift(
    stack: RunningStack,
) -> None:
    settings = stack.settings
    state = RedisState(settings.state.redis_url or "", prefix=settings.state.key_prefix)
    surge = "traffic_surge: {baseline_per_window: 1, min_entries: 8, entries_per_staff: 3}"
    config = RulesConfig.parse(yaml.safe_load(f"defaults:\n  {surge}"))
    manager = bearer(await token_for(stack.state, "store_manager", ["a"]))
    try:
        engine = RuleEngine(state, config, policy=AlertPolicy(settings), registry_check_s=0)
        directory = await DirectoryCache(state, check_interval_s=0).current()

        async def staff_counted(store: str) -> Any:
            now_ms = int(time.time() * 1000)
            crossing = DoorCrossing(id=f"d{now_ms}", ts=now_ms, direction="in", count=100)
            accepted = AcceptedEvent(store, "door-1", crossing, msgspec.json.encode(crossing))
            [found] = await engine.on_events([accepted], [], [], directory, now_ms)
            assert found.type == "traffic.surge"
            return found.facts["staff_on_shift"]

        assert await staff_counted("a") == 1  # the settings' old-a
        async with httpx.AsyncClient(base_url=stack.api_url, headers=manager) as client:
            for person in ("ann", "cai"):
                answer = await client.put(
                    f"/api/v1/stores/a/staff/{person}/shifts", json={"shifts": [ALL_DAY]}
                )
                assert answer.status_code == 200, answer.text
        assert await staff_counted("a") == 2  # Ann and Cai, from the registry
        assert await staff_counted("b") == 1  # the settings' settings-b
    finally:
        await state.close()
