"""Live alert streams: reconnecting clients get what they missed, then live alerts that
arrive over the broker; store filters hold; member import validates."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from storesense.protocol.alerts import Alert, encode_alert
from storesense.registry import stored
from storesense.registry.members import Member
from storesense.stack import RunningStack, running_stack
from tests.api.auth_helpers import bearer, token_for
from tests.e2e.helpers import publish, stack_settings


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[RunningStack]:
    async with running_stack(stack_settings(tmp_path)) as running:
        yield running


@pytest.fixture
async def token(stack: RunningStack) -> str:
    return await token_for(stack.state, "hq_admin")


def alert(n: int, store: str = "s1") -> Alert:
    return Alert(id=f"{n:013x}aaaaaaaaaaaa", store=store, type="member.arrived", ts=n,
                 state="open", title=f"t{n}", body="b")  # fmt: skip


async def read_sse(
    stack: RunningStack, count: int, headers: dict[str, str], query: str = ""
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    url = f"{stack.api_url}/api/v1/alerts/stream{query}"
    async with (
        httpx.AsyncClient(timeout=None) as client,
        client.stream("GET", url, headers=headers) as response,
    ):
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                found.append(json.loads(line[6:]))
                if len(found) == count:
                    return found
    return found


async def test_sse_client_resumes_from_last_event_id_then_goes_live(
    stack: RunningStack, token: str
) -> None:
    for n in (1, 2, 3):
        await stack.state.add_alert(alert(n))
    headers = {"Last-Event-ID": alert(1).id, **bearer(token)}
    reader = asyncio.create_task(read_sse(stack, 3, headers))
    await asyncio.sleep(0.5)  # connected and replayed; now a live one through the broker
    live = alert(4)
    await publish(
        stack.settings.broker.embedded_port, "storesense/v1/s1/alerts", encode_alert(live)
    )
    received = await asyncio.wait_for(reader, 10)
    assert [a["id"] for a in received] == [alert(2).id, alert(3).id, live.id]


async def test_websocket_only_gets_its_store(stack: RunningStack, token: str) -> None:
    ws_url = (
        stack.api_url.replace("http", "ws") + f"/api/v1/alerts/ws?store=s2&access_token={token}"
    )
    async with websockets.connect(ws_url) as socket:
        await asyncio.sleep(0.3)
        port = stack.settings.broker.embedded_port
        await publish(port, "storesense/v1/s1/alerts", encode_alert(alert(5, "s1")))
        await publish(port, "storesense/v1/s2/alerts", encode_alert(alert(6, "s2")))
        received = json.loads(await asyncio.wait_for(socket.recv(), 10))
    assert received["store"] == "s2" and received["id"] == alert(6).id


async def test_rest_lists_alerts_and_validates_parameters(stack: RunningStack, token: str) -> None:
    for n in (1, 2):
        await stack.state.add_alert(alert(n))
    async with httpx.AsyncClient(headers=bearer(token)) as client:
        listed = (await client.get(f"{stack.api_url}/api/v1/alerts?store=s1&limit=1")).json()
        bad = await client.get(f"{stack.api_url}/api/v1/alerts?store=NOT%20VALID")
        too_many = await client.get(f"{stack.api_url}/api/v1/alerts?limit=100000")
    assert [a["id"] for a in listed["alerts"]] == [alert(2).id]
    assert bad.status_code == 422 and "store" in bad.text
    assert too_many.status_code == 422 and "limit" in too_many.text


async def test_member_import_over_the_api_is_all_or_nothing(
    stack: RunningStack, token: str
) -> None:
    header = "member_id,name,tier,phone,consent,card_epcs,app_key\n"
    async with httpx.AsyncClient(headers=bearer(token)) as client:
        bad = await client.post(f"{stack.api_url}/api/v1/members/import",
                                content=header + "m1,A,,,true,,\nm2,B,,,perhaps,,\n")  # fmt: skip
        good = await client.post(f"{stack.api_url}/api/v1/members/import",
                                 content=header + "m1,A,,,true,,\nm2,B,,,false,,\n")  # fmt: skip
    assert bad.status_code == 422
    assert "line 3, column `consent`" in bad.json()["detail"]["problems"][0]
    assert good.json() == {"imported": 2, "consenting": 1, "registry_version": 1}
    assert {m.member_id for m in await stored.load(stack.state, Member)} == {"m1", "m2"}


async def test_events_over_http_reach_ingest_and_bad_ones_are_named(
    stack: RunningStack, token: str
) -> None:
    sale = {"type": "pos.sale", "id": "p1", "ts": 1_795_658_400_000, "sale_id": "S1",
            "items": [{"gtin": "00614141123452", "qty": 1, "price": 10}]}  # fmt: skip
    url = f"{stack.api_url}/api/v1/stores/s1/devices/pos-1/events"
    async with httpx.AsyncClient(headers=bearer(token)) as client:
        accepted = await client.post(url, json=[sale, {**sale, "id": "p2", "items": []}])
        rejected = await client.post(url, json={**sale, "sale_id": ""})
    assert accepted.status_code == 202
    body = accepted.json()
    assert body["accepted"] == 1 and body["rejected"][0]["index"] == 1
    assert "field `items`" in body["rejected"][0]["message"]
    assert rejected.status_code == 422 and "sale_id" in rejected.text
