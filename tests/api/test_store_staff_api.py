"""A store's staff and shifts on real Redis (the manager's Staff view): everyone of the
store reads them (badges for managers only), the store's managers replace a person's shifts
there (their shifts in other stores kept), nobody touches another store's staff, and a bad
shift is a 422 naming the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from storesense.registry import stored
from storesense.registry.staff import Shift, StaffMember
from storesense.stack import RunningStack, running_stack
from tests.api.auth_helpers import bearer, token_for
from tests.api.stacks import real_stack_settings
from tests.servers import Mosquitto, Redis

BADGE = "e2a00000000000000000000a"


def _window(hours_from_now: int) -> str:
    """A one-hour UTC window starting `hours_from_now` hours after this hour."""
    start = datetime.now(UTC).replace(minute=0) + timedelta(hours=hours_from_now)
    return f"{start:%H:00}-{start + timedelta(hours=1):%H:00}"


@pytest.fixture
async def stack(
    tmp_path: Path, mosquitto: Mosquitto, redis_server: Redis
) -> AsyncIterator[RunningStack]:
    stores = {"a": {"timezone": "UTC"}, "b": {"timezone": "UTC"}, "c": {"timezone": "UTC"}}
    settings = real_stack_settings(tmp_path, mosquitto, redis_server, stores=stores)
    async with running_stack(settings) as running:
        await stored.save(running.state, [
            # Ann works in a (on shift all day) and in c (a shift there that must survive).
            StaffMember(staff_id="ann", name="Ann", role="assistant", badge_epcs=(BADGE,),
                        stores=("a", "c"),
                        shifts=(Shift(store="a"), Shift(store="c", hours="08:00-12:00"))),
            # Cai: in a, with a shift there that is not now.
            StaffMember(staff_id="cai", name="Cai", role="assistant", stores=("a",),
                        shifts=(Shift(store="a", hours=_window(2)),)),
            StaffMember(staff_id="bob", name="Bob", role="assistant", stores=("b",)),
        ])  # fmt: skip
        yield running


async def test_the_store_s_people_read_its_staff_and_who_is_on_shift(
    stack: RunningStack,
) -> None:
    manager = bearer(await token_for(stack.state, "store_manager", ["a"]))
    assistant = bearer(await token_for(stack.state, "assistant", ["a"], staff="ann"))
    async with httpx.AsyncClient(base_url=stack.api_url) as client:
        seen = await client.get("/api/v1/stores/a/staff", headers=manager)
        by_assistant = await client.get("/api/v1/stores/a/staff", headers=assistant)
        elsewhere = await client.get("/api/v1/stores/b/staff", headers=manager)
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert (body["store"], body["timezone"]) == ("a", "UTC")
    assert (
        body["weekday"]
        == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[datetime.now(UTC).weekday()]
    )
    people = {p["staff_id"]: p for p in body["staff"]}
    assert sorted(people) == ["ann", "cai"]  # not Bob, of store b
    assert people["ann"]["on_shift_now"] is True and people["cai"]["on_shift_now"] is False
    assert people["ann"]["badge_epcs"] == [BADGE]
    # Only this store's shifts.
    assert people["ann"]["shifts"] == [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                        "hours": "00:00-24:00", "zones": []}]  # fmt: skip
    # Assistants read, without the badges.
    assert by_assistant.status_code == 200
    ann = next(p for p in by_assistant.json()["staff"] if p["staff_id"] == "ann")
    assert ann["badge_epcs"] is None and ann["beacons"] is None and ann["on_shift_now"]
    assert elsewhere.status_code == 403


async def test_a_manager_replaces_shifts_in_their_store_only(stack: RunningStack) -> None:
    manager = bearer(await token_for(stack.state, "store_manager", ["a"]))
    assistant = bearer(await token_for(stack.state, "assistant", ["a"], staff="ann"))
    shifts = {"shifts": [{"days": ["sat", "mon"], "hours": "22:00-06:00", "zones": ["floor"]}]}
    async with httpx.AsyncClient(base_url=stack.api_url) as client:
        changed = await client.put("/api/v1/stores/a/staff/ann/shifts", headers=manager,
                                   json=shifts)  # fmt: skip
        by_assistant = await client.put("/api/v1/stores/a/staff/ann/shifts",
                                        headers=assistant, json=shifts)  # fmt: skip
        # Another store's staff: through that store, 403; through their own store, 404.
        other_store = await client.put("/api/v1/stores/b/staff/bob/shifts", headers=manager,
                                       json=shifts)  # fmt: skip
        not_here = await client.put("/api/v1/stores/a/staff/bob/shifts", headers=manager,
                                    json=shifts)  # fmt: skip
        unknown = await client.put("/api/v1/stores/a/staff/nobody/shifts", headers=manager,
                                   json=shifts)  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.json()["shifts"] == [
        {"days": ["mon", "sat"], "hours": "22:00-06:00", "zones": ["floor"]}
    ]
    assert by_assistant.status_code == 403
    assert other_store.status_code == 403
    assert not_here.status_code == 404 and unknown.status_code == 404
    ann = await stored.load_one(stack.state, StaffMember, "ann")
    bob = await stored.load_one(stack.state, StaffMember, "bob")
    assert ann is not None and bob is not None
    assert ann.shifts == (
        Shift(store="c", hours="08:00-12:00"),  # kept: another store's
        Shift(store="a", days=("mon", "sat"), hours="22:00-06:00", zones=("floor",)),
    )
    assert ann.badge_epcs == (BADGE,) and ann.stores == ("a", "c")
    assert bob.shifts == ()


async def test_region_managers_and_hq_change_shifts_of_their_stores(
    stack: RunningStack,
) -> None:
    hq = bearer(await token_for(stack.state, "hq_admin"))
    async with httpx.AsyncClient(base_url=stack.api_url, headers=hq) as client:
        await client.post("/api/v1/regions", json={"id": "east", "name": "East"})
        for store in ("a", "b"):
            made = await client.post("/api/v1/stores", json={
                "id": store, "name": store.upper(), "region": "east" if store == "a" else None,
                "timezone": "UTC"})  # fmt: skip
            assert made.status_code == 201, made.text
        regional = bearer(await token_for(stack.state, "region_manager", regions=["east"]))
        cleared = await client.put("/api/v1/stores/a/staff/cai/shifts", headers=regional,
                                   json={"shifts": []})  # fmt: skip
        refused = await client.put("/api/v1/stores/b/staff/bob/shifts", headers=regional,
                                   json={"shifts": []})  # fmt: skip
        by_hq = await client.put("/api/v1/stores/b/staff/bob/shifts",
                                 json={"shifts": [{"hours": "09:00-17:00"}]})  # fmt: skip
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["shifts"] == [] and cleared.json()["on_shift_now"] is False
    assert refused.status_code == 403
    assert by_hq.status_code == 200 and by_hq.json()["shifts"][0]["days"][0] == "mon"


@pytest.mark.parametrize(
    ("shift", "field"),
    [
        ({"hours": "9-17"}, "hours"),
        ({"hours": "10:00-10:00"}, "hours"),
        ({"days": []}, "days"),
        ({"days": ["monday"]}, "days"),
        ({"zones": [""]}, "zones"),
        ({"store": "b"}, "store"),  # the store is the path's
    ],
)
async def test_a_bad_shift_is_422_naming_the_field(
    stack: RunningStack, shift: dict[str, object], field: str
) -> None:
    manager = bearer(await token_for(stack.state, "store_manager", ["a"]))
    async with httpx.AsyncClient(base_url=stack.api_url, headers=manager) as client:
        answer = await client.put("/api/v1/stores/a/staff/ann/shifts",
                                  json={"shifts": [{"hours": "09:00-17:00"}, shift]})  # fmt: skip
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["loc"][:4] == ["body", "shifts", 1, field], problem
    before = await stored.load_one(stack.state, StaffMember, "ann")
    assert before is not None and len(before.shifts) == 2  # nothing changed
