"""The alert lifecycle over the API, on real Mosquitto and Redis: one winner among
concurrent claims, validated resolves, every change on the live streams, webhooks that
retry without holding up the WebSocket, the outcome report."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from api.app import create_app
from rules.delivery.webhook import verify
from rules.drafts import AlertDraft
from rules.lifecycle.outcomes import PointSubmitter
from rules.lifecycle.running import AlertDelivery, alert_delivery
from storesense.backends.state.memory import MemoryState
from storesense.backends.state.redis import RedisState
from storesense.backends.timeseries.base import Point
from storesense.backends.timeseries.sqlite import SQLiteTimeSeries
from storesense.errors import BackendUnavailable
from storesense.mqtt import MqttLink, client_id, mqtt_client
from storesense.protocol.alerts import AlertMember, decode_alert
from storesense.settings import Settings
from storesense.stack import RunningStack, running_stack
from tests.api.auth_helpers import admin_headers, bearer, token_for
from tests.e2e.helpers import eventually, stack_settings
from tests.rules.receivers import Receiver, failing_first, receiver
from tests.servers import Mosquitto, Redis

SECRET = "webhook-secret-0123456789"


class Points:
    def __init__(self) -> None:
        self.points: list[Point] = []

    def submit(self, points: Any) -> None:
        self.points.extend(points)


@pytest.fixture
async def hook() -> AsyncIterator[Receiver]:
    # Fails twice, each failure after 0.3 s (a receiver timing out).
    async with receiver(failing_first(2), fail_after_s=0.3) as running:
        yield running


@pytest.fixture
async def stack(
    tmp_path: Path, mosquitto: Mosquitto, redis_server: Redis, hook: Receiver
) -> AsyncIterator[RunningStack]:
    settings = stack_settings(
        tmp_path,
        broker={"url": mosquitto.url},
        state={"redis_url": redis_server.url, "key_prefix": f"t{uuid.uuid4().hex[:8]}"},
        topic_root=f"r{uuid.uuid4().hex[:8]}",
        alerts={
            "escalate_after_s": 1,
            "expire_after_s": 3600,
            "timer_interval_s": 0.1,
            "webhooks": [{"url": hook.url, "secret": SECRET, "stores": ["s1"]}],
        },
    )
    async with running_stack(settings) as running:
        yield running


@asynccontextmanager
async def worker(
    settings: Settings, points: PointSubmitter | None = None
) -> AsyncIterator[AlertDelivery]:
    """Another process raising alerts on the same Redis and broker (an ingest worker)."""
    state = RedisState(settings.state.redis_url or "", prefix=settings.state.key_prefix)
    link = MqttLink()
    try:
        async with mqtt_client(settings.broker.endpoint(), client_id(settings, "t-worker")) as c:
            link.attach(c)
            async with alert_delivery(
                settings, state, link.publish, points=points, timers=False
            ) as delivery:
                yield delivery
                await delivery.dispatcher.drain()
    finally:
        await state.close()


def draft(subject: str, store: str = "s1") -> AlertDraft:
    return AlertDraft(type="member.arrived", store=store, ts_ms=int(time.time() * 1000),
                      member=AlertMember(id=subject, name="Ann"), subject=subject)  # fmt: skip


async def test_two_assistants_claiming_at_once_one_wins_the_other_is_told_who(
    stack: RunningStack,
) -> None:
    url = stack.api_url + "/api/v1/alerts"
    # Two signed-in assistants of the store, each linked to their staff id.
    alice = bearer(await token_for(stack.state, "assistant", ["s1"], staff="alice"))
    bob = bearer(await token_for(stack.state, "assistant", ["s1"], staff="bob"))
    async with (
        worker(stack.settings) as delivery,
        httpx.AsyncClient(headers=alice) as one,
        httpx.AsyncClient(headers=bob) as two,
    ):
        for round_ in range(50):
            alert = await delivery.raiser.raise_alert(draft(f"m{round_}"))
            assert alert is not None
            answers = await asyncio.gather(
                one.post(f"{url}/{alert.id}/claim", json={}),
                two.post(f"{url}/{alert.id}/claim", json={}),
            )
            codes = sorted(a.status_code for a in answers)
            assert codes == [200, 409], [a.text for a in answers]
            won = next(a for a in answers if a.status_code == 200).json()
            lost = next(a for a in answers if a.status_code == 409).json()
            assert won["state"] == "claimed" and won["claimed_by"] in ("alice", "bob")
            assert lost["holder"] == won["claimed_by"]
            assert won["claimed_by"] in lost["detail"]
            stored = await stack.state.alert(alert.id)
            assert stored is not None and stored.claimed_by == won["claimed_by"]


async def test_claim_and_resolve_answer_every_bad_request_without_500(
    stack: RunningStack,
) -> None:
    url = stack.api_url + "/api/v1/alerts"
    headers = await admin_headers(stack.state)  # HQ names the staff it acts for
    async with worker(stack.settings) as delivery, httpx.AsyncClient(headers=headers) as client:
        alert = await delivery.raiser.raise_alert(draft("m1"))
        assert alert is not None
        claim = f"{url}/{alert.id}/claim"
        resolve = f"{url}/{alert.id}/resolve"
        unknown = await client.post(f"{url}/0123abc/claim", json={"staff": "a1"})
        bad_id = await client.post(f"{url}/not-an-id/claim", json={"staff": "a1"})
        no_staff = await client.post(claim, json={})
        bad_staff = await client.post(claim, json={"staff": "has space"})
        not_json = await client.post(claim, content=b"{oops", headers={"content-type": "application/json"})  # fmt: skip
        ok = await client.post(claim, json={"staff": "a1"})
        bad_outcome = await client.post(resolve, json={"staff": "a1", "outcome": "great"})
        not_holder = await client.post(resolve, json={"staff": "a2", "outcome": "served"})
        resolved = await client.post(resolve, json={"staff": "a1", "outcome": "served"})
        again = await client.post(resolve, json={"staff": "a1", "outcome": "purchased"})
        late_claim = await client.post(claim, json={"staff": "a3"})
        got = await client.get(f"{url}/{alert.id}")
        metrics = (await client.get(f"{stack.api_url}/metrics")).text
    assert unknown.status_code == 404
    assert bad_id.status_code == 422
    assert no_staff.status_code == 422 and "staff" in no_staff.text
    assert bad_staff.status_code == 422 and "staff" in bad_staff.text
    assert not_json.status_code == 422
    assert ok.status_code == 200 and ok.json()["claimed_by"] == "a1"
    assert bad_outcome.status_code == 422 and "outcome" in bad_outcome.text
    assert "served" in bad_outcome.text  # names the allowed values
    assert not_holder.status_code == 409 and not_holder.json()["holder"] == "a1"
    assert resolved.status_code == 200 and resolved.json()["outcome"] == "served"
    assert again.status_code == 409 and again.json()["state"] == "resolved"
    assert late_claim.status_code == 409
    assert got.json()["state"] == "resolved" and got.json()["version"] == 3
    assert 'storesense_alert_changes_total{state="claimed"} 1.0' in metrics
    assert 'storesense_alert_changes_total{state="resolved"} 1.0' in metrics
    assert 'storesense_alert_requests_refused_total{reason="final"} 2.0' in metrics
    assert 'storesense_alert_deliveries_total{channel="mqtt",result="delivered"}' in metrics


async def test_every_state_change_reaches_websocket_and_sse_clients(stack: RunningStack) -> None:
    url = stack.api_url + "/api/v1/alerts"
    token = await token_for(stack.state, "hq_admin")
    ws_url = ws_of(stack, token)
    async with websockets.connect(ws_url) as socket, worker(stack.settings) as delivery:
        await asyncio.sleep(0.3)
        alert = await delivery.raiser.raise_alert(draft("m1"))
        assert alert is not None
        first = json.loads(await asyncio.wait_for(socket.recv(), 10))
        async with httpx.AsyncClient(headers=bearer(token)) as client:
            await client.post(f"{url}/{alert.id}/claim", json={"staff": "a1"})
            await client.post(f"{url}/{alert.id}/resolve", json={"staff": "a1", "outcome": "purchased"})  # fmt: skip
        seen = [first] + [json.loads(await asyncio.wait_for(socket.recv(), 10)) for _ in range(2)]
        # Unclaimed for 1 s: the stack's ingest timer escalates it, once, on the stream.
        lonely = await delivery.raiser.raise_alert(draft("m2"))
        assert lonely is not None
        lonely_seen = [json.loads(await asyncio.wait_for(socket.recv(), 10)) for _ in range(2)]
    assert {(a["id"], a["state"], a.get("version", 1)) for a in seen} == {
        (alert.id, "open", 1), (alert.id, "claimed", 2), (alert.id, "resolved", 3)
    }  # fmt: skip
    assert [(a["id"], a["state"]) for a in lonely_seen] == [
        (lonely.id, "open"), (lonely.id, "escalated")
    ]  # fmt: skip
    assert lonely_seen[1]["audience"] == "manager"

    # SSE: a client that saw only the raise resumes and gets the latest of what changed.
    async with (
        httpx.AsyncClient(timeout=None, headers=bearer(token)) as client,
        client.stream(
            "GET", f"{url}/stream?store=s1", headers={"Last-Event-ID": alert.id}
        ) as response,  # fmt: skip
    ):
        replayed: list[dict[str, Any]] = []
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                replayed.append(json.loads(line[6:]))
                if len(replayed) == 2:
                    break
    assert [(a["id"], a["state"]) for a in replayed] == [
        (alert.id, "resolved"), (lonely.id, "escalated")
    ]  # fmt: skip


async def test_failing_webhook_gets_the_alert_once_while_websocket_is_not_delayed(
    stack: RunningStack, hook: Receiver
) -> None:
    ws_url = ws_of(stack, await token_for(stack.state, "assistant", ["s1"]))
    async with websockets.connect(ws_url) as socket, worker(stack.settings) as delivery:
        await asyncio.sleep(0.3)
        started = time.monotonic()
        alert = await delivery.raiser.raise_alert(draft("m1"))
        assert alert is not None
        raw = await asyncio.wait_for(socket.recv(), 10)
        on_socket = decode_alert(raw if isinstance(raw, bytes) else raw.encode())
        socket_s = time.monotonic() - started
        await eventually(lambda: _async(len(hook.accepted)), lambda n: n >= 1, timeout=15)
        webhook_s = time.monotonic() - started
        await asyncio.sleep(0.5)  # nothing more arrives
        stored = await stack.state.alert(alert.id)
    assert on_socket.id == alert.id
    assert socket_s < 0.25, socket_s  # not behind the webhook's two slow failures
    assert webhook_s > 0.6 > socket_s
    opened = [r for r in hook.requests if r.headers["x-storesense-delivery"] == f"{alert.id}:open"]
    assert len(opened) == 3 and [r.accepted for r in opened] == [False, False, True]
    got = opened[-1]
    assert verify(SECRET, got.headers["x-storesense-timestamp"], got.body,
                  got.headers["x-storesense-signature"])  # fmt: skip
    assert decode_alert(got.body).id == alert.id
    # The first confirmed delivery is recorded (bookkeeping, not a change to announce).
    assert stored is not None and stored.delivered is not None


async def test_outcome_report_counts_raised_claimed_and_outcomes(stack: RunningStack) -> None:
    url = stack.api_url + "/api/v1/alerts"
    raised = Points()
    headers = await admin_headers(stack.state)
    async with (
        worker(stack.settings, points=raised) as delivery,
        httpx.AsyncClient(headers=headers) as client,
    ):
        ids = []
        for subject in ("m1", "m2", "m3"):
            alert = await delivery.raiser.raise_alert(draft(subject))
            assert alert is not None
            ids.append(alert.id)
        await client.post(f"{url}/{ids[0]}/resolve", json={"staff": "a1", "outcome": "purchased"})
        await client.post(f"{url}/{ids[1]}/claim", json={"staff": "a1"})
        await client.post(f"{url}/{ids[1]}/resolve", json={"staff": "a1", "outcome": "served"})
        # The worker's `alert_raised` points, into the stack's store.
        series = SQLiteTimeSeries(stack.settings.sqlite_path())
        await series.write(raised.points)
        await series.close()

        async def report() -> dict[str, Any]:
            answer = await client.get(f"{url}/outcomes?store=s1")
            body: dict[str, Any] = answer.json()
            return body

        # Points land in the store while a report queries it measurement by measurement:
        # wait until all of them are in, not just the last one written.
        def complete(seen: dict[str, Any]) -> bool:
            counts = seen.get("types", {}).get("member.arrived", {})
            return bool(counts.get("served") == 1 and counts.get("claimed") == 2)

        body = await eventually(report, complete)
        bad = await client.get(f"{url}/outcomes?since=yesterday-ish")
    counts = body["types"]["member.arrived"]
    assert counts["raised"] == 3 and counts["claimed"] == 2
    assert counts["purchased"] == 1 and counts["served"] == 1 and counts["expired"] == 0
    assert bad.status_code == 422 and "since" in bad.text


def ws_of(stack: RunningStack, token: str) -> str:
    """The live alerts WebSocket of store s1 (browsers cannot send headers: the token goes
    in the query)."""
    return stack.api_url.replace("http", "ws") + f"/api/v1/alerts/ws?store=s1&access_token={token}"


async def _async(value: int) -> int:
    return value


class DownSeries:
    async def query(self, measurement: str, **_: Any) -> list[Point]:
        raise BackendUnavailable("InfluxDB at http://influx:8086 is unreachable")


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("since=0001-01-01T00:00:00", "since"),  # no epoch time: not a 500
        ("until=9999-12-31T23:59:59%2B00:00", "until"),  # past what 64-bit ns hold
        ("since=2026-11-26T10:00:00&until=2026-11-25T10:00:00", "since"),
    ],
)
async def test_outcome_report_refuses_times_it_cannot_query(
    tmp_path: Path, query: str, named: str
) -> None:
    state = MemoryState()
    series = SQLiteTimeSeries(tmp_path / "ts.sqlite")
    app = create_app(stack_settings(tmp_path), state, series=series)
    transport = httpx.ASGITransport(app=app)
    headers = await admin_headers(state)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=headers
        ) as c:
            answer = await c.get(f"/api/v1/alerts/outcomes?store=s1&{query}")
            fine = await c.get("/api/v1/alerts/outcomes?store=s1&since=2026-11-25T10:00:00")
    finally:
        await series.close()
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["query", named]
    assert fine.status_code == 200 and fine.json()["types"] == {}


async def test_outcome_report_says_when_the_time_series_store_is_down(tmp_path: Path) -> None:
    state = MemoryState()
    app = create_app(stack_settings(tmp_path), state, series=DownSeries())
    transport = httpx.ASGITransport(app=app)
    headers = await admin_headers(state)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        answer = await c.get("/api/v1/alerts/outcomes?store=s1")
    assert answer.status_code == 503 and "unreachable" in answer.text


async def test_outcome_report_for_an_empty_period_is_422_in_the_documented_shape(
    tmp_path: Path,
) -> None:
    state = MemoryState()
    app = create_app(stack_settings(tmp_path), state, series=DownSeries())
    transport = httpx.ASGITransport(app=app)
    headers = await admin_headers(state)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        answer = await c.get(
            "/api/v1/alerts/outcomes",
            params={
                "store": "s1",
                "since": "2026-01-02T00:00:00Z",
                "until": "2026-01-01T00:00:00Z",
            },
        )
    assert answer.status_code == 422
    assert answer.json()["detail"] == [
        {"loc": ["query", "since"], "msg": "`since` must be before `until`", "type": "value_error"}
    ]
