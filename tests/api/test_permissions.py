"""Permissions over every route: without a token nothing but the documented exemptions
answers; tokens of each role bound to store A asking for store B's data get 403/404 and
never see it; phones only for the roles that need them; every profile view is audited."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import websockets
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute

from api.app import create_app
from api.auth import policy
from api.auth.roles import Role
from storesense.backends.state.base import DeviceRecord, StateStore
from storesense.backends.state.memory import MemoryState
from storesense.backends.timeseries.sqlite import SQLiteTimeSeries
from storesense.protocol.alerts import Alert, encode_alert
from storesense.registry import stored
from storesense.registry import stores as registry
from storesense.registry.members import Member
from storesense.registry.organisation import Region, Store
from storesense.registry.staff import StaffMember
from storesense.stack import RunningStack, running_stack
from tests.api.auth_helpers import bearer, token_for
from tests.e2e.helpers import publish, stack_settings

A, B = "store-alpha", "store-bravo"
SECRET = "bravo-secret"  # in every piece of store B's data, so that a leak shows
A_ROLES: tuple[Role, ...] = ("region_manager", "store_manager", "assistant", "integration")
# Changing this set is a decision to document (api/auth/policy.py, README).
DOCUMENTED_EXEMPTIONS = {
    "/healthz", "/metrics", "/api/v1/auth/login", "/api/v1/auth/refresh",
    "/", "/manifest.webmanifest", "/sw.js", "/app/{asset:path}", "/icons/{asset:path}",
}  # fmt: skip
# Valid bodies, so that what answers is the permission check, not validation.
BODIES: dict[str, Any] = {
    "/api/v1/alerts/{alert_id}/resolve": {"outcome": "served"},
    "/api/v1/tasks/{task_id}/complete": {"staff": "a1", "outcome": "purchased"},
    "/api/v1/tasks": {"store": B, "member_id": "m-b"},
}
# About one's own session: calling them in the sweep would log the sweeping token out.
OWN_SESSION = {"/api/v1/auth/logout", "/api/v1/auth/password"}


def alert(n: int, store: str, title: str = "t") -> Alert:
    return Alert(id=f"{n:013x}aaaaaaaaaaaa", store=store, type="member.arrived", ts=n,
                 state="open", title=title, body="b")  # fmt: skip


ALERT_A, ALERT_B = alert(1, A), alert(2, B, f"Ms {SECRET} arrived")


@dataclass
class Route:
    path: str
    methods: set[str]
    query: set[str]
    websocket: bool


def routes(app: FastAPI) -> Iterator[Route]:
    """Every route of the app, whether included directly or through routers."""

    def walk(items: list[Any]) -> Iterator[Any]:
        for item in items:
            if hasattr(item, "effective_route_contexts"):  # FastAPI's lazily included routers
                yield from (c.original_route for c in item.effective_route_contexts())
            else:
                yield item

    def query(dependant: Any) -> set[str]:
        names = {p.alias for p in dependant.query_params}
        for sub in dependant.dependencies:
            names |= query(sub)
        return names

    for route in walk(list(app.routes)):
        if isinstance(route, APIRoute):
            yield Route(route.path, set(route.methods or ()), query(route.dependant), False)
        elif isinstance(route, APIWebSocketRoute):
            yield Route(route.path, {"WEBSOCKET"}, query(route.dependant), True)


FILL = {"store": B, "alert_id": ALERT_B.id, "member_id": "m-b", "device": "door-b",
        "region": "south", "staff_id": "staff-b", "task_id": "0" * 21, "user_id": "nobody"}  # fmt: skip


def url_of(path: str, fill: dict[str, str] = FILL) -> tuple[str, bool]:
    """The path with store B's identifiers filled in, and whether it names store B data."""
    names = re.findall(r"{(\w+)(?::\w+)?}", path)
    url = re.sub(r"{(\w+)(?::\w+)?}", lambda m: fill.get(m.group(1), "x1"), path)
    return url, any(name in fill and name != "user_id" for name in names)


def put(value: bytes, _old: bytes | None) -> tuple[bytes, None]:
    return value, None


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, StateStore, httpx.AsyncClient]]:
    state = MemoryState()
    await registry.regions(state).create(Region(id="north", name="North"), "north")
    await registry.regions(state).create(Region(id="south", name="South"), "south")
    await registry.create_store(state, Store(id=A, name="Alpha", region="north"))
    await registry.create_store(state, Store(id=B, name=f"Bravo {SECRET}", region="south"))
    for each in (ALERT_A, ALERT_B):
        await state.add_alert(each)
    await state.put_device(DeviceRecord(store=A, device="door-a", state="online", ts_ms=1))
    await state.put_device(DeviceRecord(store=B, device="door-b", state="online", ts_ms=1,
                                        version=SECRET))  # fmt: skip
    await stored.save(state, [
        Member(member_id="m-a", name="Ann Alpha", tier="gold", phone="13800000001", consent=True),
        Member(member_id="m-b", name=f"Bo {SECRET}", phone="13900000002", consent=True),
        Member(member_id="m-gone", name="Gone", phone="13700000003", consent=True),
    ])  # fmt: skip
    await stored.save(state, [
        StaffMember(staff_id="a1", name="Al", stores=(A,)),
        StaffMember(staff_id="staff-b", name=f"Bea {SECRET}", stores=(B,)),
    ])  # fmt: skip
    for store, member in ((A, "m-a"), (B, "m-b")):
        visit = msgspec.json.encode({"member_id": member, "start_ms": 1, "last_seen_ms": 1})
        await state.update(f"visit:{store}:{member}", partial(put, visit))
    series = SQLiteTimeSeries(tmp_path / "series.sqlite")
    app = create_app(stack_settings(tmp_path), state, series=series)
    app.state.lifecycle = None  # claims of store B's alerts are refused before it is used
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield app, state, http
    await series.close()


async def role_tokens(state: StateStore) -> dict[Role, dict[str, str]]:
    tokens: dict[Role, dict[str, str]] = {}
    for role in A_ROLES:
        regions = ("north",) if role == "region_manager" else ()
        stores = () if role == "region_manager" else (A,)
        tokens[role] = bearer(await token_for(state, role, stores, regions=regions, staff="a1"))
    return tokens


def test_exemptions_are_the_documented_ones() -> None:
    assert policy.EXEMPT == DOCUMENTED_EXEMPTIONS


async def test_every_route_but_the_exemptions_needs_a_token(
    world: tuple[FastAPI, StateStore, httpx.AsyncClient],
) -> None:
    app, _, http = world
    checked = 0
    for route in routes(app):
        if route.websocket or route.path in DOCUMENTED_EXEMPTIONS:
            continue
        url, _ = url_of(route.path)
        for method in route.methods - {"HEAD"}:
            for headers in ({}, bearer("ssa_not-a-token"), {"Authorization": "Basic eDp5"}):
                response = await http.request(method, url, headers=headers, json={})
                assert response.status_code == 401, (method, route.path, response.text)
                assert response.headers["www-authenticate"] == "Bearer"
            checked += 1
    assert checked >= 40  # the walk found the app's routes


@pytest.mark.parametrize("role", A_ROLES)
async def test_store_a_tokens_get_nothing_of_store_b_on_any_route(
    world: tuple[FastAPI, StateStore, httpx.AsyncClient], role: Role
) -> None:
    app, state, http = world
    headers = (await role_tokens(state))[role]
    admin = bearer(await token_for(state, "hq_admin"))
    task = await http.post("/api/v1/tasks", headers=admin,
                           json={"store": B, "member_id": "m-b", "note": SECRET})  # fmt: skip
    assert task.status_code == 201, task.text
    fill = {**FILL, "task_id": task.json()["id"]}
    for route in routes(app):
        if route.websocket or route.path in DOCUMENTED_EXEMPTIONS | OWN_SESSION:
            continue
        url, names_b = url_of(route.path, fill)
        for method in route.methods - {"HEAD"}:
            asks = [
                ({"store": B} if "store" in route.query else {}, names_b or "store" in route.query)
            ]
            if "store" in route.query and not route.path.endswith("/stream"):
                # no filter: only their stores, or 403 (live streams: in the stack test)
                asks.append(({}, names_b))
            for params, for_b in asks:
                body = BODIES.get(route.path, {})
                response = await http.request(
                    method, url, params=params, headers=headers, json=body
                )
                where = f"{role} {method} {route.path} {params}: {response.status_code} {response.text[:300]}"
                assert response.status_code < 500, where
                assert SECRET not in response.text, where
                if for_b:
                    assert response.status_code in (403, 404), where


async def test_listings_without_a_store_show_only_the_principal_s_stores(
    world: tuple[FastAPI, StateStore, httpx.AsyncClient],
) -> None:
    _, state, http = world
    tokens = await role_tokens(state)
    for role in A_ROLES:
        alerts = (await http.get("/api/v1/alerts", headers=tokens[role])).json()["alerts"]
        assert [a["id"] for a in alerts] == [ALERT_A.id], role
        devices = (await http.get("/api/v1/devices", headers=tokens[role])).json()["devices"]
        assert [d["store"] for d in devices] == [A], role
        stores = (await http.get("/api/v1/stores", headers=tokens[role])).json()
        assert [s["id"] for s in stores] == [A], role
        own = await http.get(f"/api/v1/alerts/{ALERT_A.id}", headers=tokens[role])
        assert own.status_code == 200, role
    staff = (await http.get("/api/v1/staff", headers=tokens["store_manager"])).json()["staff"]
    assert [s["staff_id"] for s in staff] == ["a1"]
    admin = bearer(await token_for(state, "hq_admin"))
    alerts = (await http.get("/api/v1/alerts", headers=admin)).json()["alerts"]
    assert {a["store"] for a in alerts} == {A, B}


async def test_assistant_sees_members_in_the_store_without_their_phone_and_views_are_audited(
    world: tuple[FastAPI, StateStore, httpx.AsyncClient],
) -> None:
    _, state, http = world
    tokens = await role_tokens(state)
    admin = bearer(await token_for(state, "hq_admin", user_id="hq-1"))
    assistant = await http.get("/api/v1/members/m-a", headers=tokens["assistant"])
    assert assistant.status_code == 200, assistant.text
    assert assistant.json()["name"] == "Ann Alpha" and assistant.json()["phone"] is None
    assert "13800000001" not in assistant.text
    manager = await http.get(f"/api/v1/members/m-a?store={A}", headers=tokens["store_manager"])
    assert manager.json()["phone"] == "13800000001"
    # not in store A now (elsewhere, or nowhere): unknown to store A's people
    for member in ("m-b", "m-gone", "no-such"):
        for role in A_ROLES:
            denied = await http.get(f"/api/v1/members/{member}", headers=tokens[role])
            assert denied.status_code == 404, (member, role)
    hq = await http.get("/api/v1/members/m-b", headers=admin)
    assert hq.json()["phone"] == "13900000002"
    await http.get("/api/v1/members", headers=admin)

    log = await http.get("/api/v1/auth/audit", headers=tokens["store_manager"])
    assert log.status_code == 200, log.text
    entries = log.json()["entries"]
    assert [(e["role"], e["member"], e["store"], e["personal_data"]) for e in entries] == [
        ("assistant", "m-a", A, False), ("store_manager", "m-a", A, True),
    ]  # fmt: skip
    assert all(e["action"] == "member.profile.view" and e["ts_ms"] > 0 for e in entries)
    everything = (await http.get("/api/v1/auth/audit", headers=admin)).json()["entries"]
    assert [(e["user"], e["member"], e["action"]) for e in everything[-2:]] == [
        ("hq-1", "m-b", "member.profile.view"), ("hq-1", "*", "members.list"),
    ]  # fmt: skip
    for role in ("assistant", "integration", "region_manager"):
        assert (await http.get("/api/v1/auth/audit", headers=tokens[role])).status_code == 403
    blocked = await http.get(f"/api/v1/auth/audit?store={B}", headers=tokens["store_manager"])
    assert blocked.status_code == 403


async def test_roles_limit_what_each_may_change(
    world: tuple[FastAPI, StateStore, httpx.AsyncClient],
) -> None:
    _, state, http = world
    tokens = await role_tokens(state)
    rules = f"/api/v1/stores/{A}/rules"
    assert (await http.put(rules, json={}, headers=tokens["assistant"])).status_code == 403
    assert (await http.get(rules, headers=tokens["assistant"])).status_code == 403
    events = f"/api/v1/stores/{A}/devices/pos-1/events"
    assert (await http.post(events, json={}, headers=tokens["assistant"])).status_code == 403
    imported = await http.post("/api/v1/members/import", content="x", headers=tokens["integration"])
    assert imported.status_code == 403  # every store's members: not for a store's integration
    users = await http.post("/api/v1/auth/users", json={}, headers=tokens["store_manager"])
    assert users.status_code == 403


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[RunningStack]:
    async with running_stack(stack_settings(tmp_path)) as running:
        await running.state.add_alert(alert(3, A))
        yield running


async def test_live_streams_take_the_query_token_and_carry_only_the_principal_s_stores(
    stack: RunningStack,
) -> None:
    token = await token_for(stack.state, "assistant", (A,), staff="a1")
    ws = stack.api_url.replace("http", "ws") + "/api/v1/alerts/ws"
    for bad in ("", "?access_token=ssa_nope", f"?store={B}&access_token={token}"):
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(ws + bad):
                pass
        assert refused.value.response.status_code == 403, bad
    async with (
        websockets.connect(f"{ws}?access_token={token}") as socket,
        httpx.AsyncClient(timeout=None) as client,
        client.stream("GET", f"{stack.api_url}/api/v1/alerts/stream?access_token={token}") as sse,
    ):
        assert sse.status_code == 200
        await asyncio.sleep(0.3)
        port = stack.settings.broker.embedded_port
        await publish(port, f"storesense/v1/{B}/alerts", encode_alert(alert(4, B, SECRET)))
        await publish(port, f"storesense/v1/{A}/alerts", encode_alert(alert(5, A)))
        received = json.loads(await asyncio.wait_for(socket.recv(), 10))
        lines = sse.aiter_lines()
        while not (line := await asyncio.wait_for(anext(lines), 10)).startswith("data: "):
            pass
    assert received["id"] == alert(5, A).id
    assert json.loads(line[6:])["id"] == alert(5, A).id


async def test_claims_act_as_the_user_s_staff_id(stack: RunningStack) -> None:
    assistant = bearer(await token_for(stack.state, "assistant", (A,), staff="a1"))
    unlinked = bearer(await token_for(stack.state, "assistant", (A,)))
    pos = bearer(await token_for(stack.state, "integration", (A,)))
    claim = f"{stack.api_url}/api/v1/alerts/{alert(3, A).id}/claim"
    async with httpx.AsyncClient() as client:
        posing = await client.post(claim, json={"staff": "a2"}, headers=assistant)
        nobody = await client.post(claim, json={"staff": "a2"}, headers=unlinked)
        integration_needs_one = await client.post(claim, json={}, headers=pos)
        claimed = await client.post(claim, json={}, headers=assistant)
    assert posing.status_code == 403 and "a1" in posing.text
    assert nobody.status_code == 403
    assert integration_needs_one.status_code == 422 and "staff" in integration_needs_one.text
    assert claimed.status_code == 200 and claimed.json()["claimed_by"] == "a1"
