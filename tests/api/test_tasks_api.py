"""Follow-up tasks on real Redis and Mosquitto: created over the API (or by the rule from a
visit with try-ons and no purchase), announced as an alert, completed with an outcome that
resolves the alert, and a later purchase by the member attributed, with its points."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from rules.followups.follower import FollowupFollower
from rules.followups.service import FollowupService
from rules.readmodel import MemberHistory
from storesense.backends.state.redis import RedisState
from storesense.backends.timeseries.base import Point
from storesense.registry import stored
from storesense.registry.members import Member
from storesense.registry.products import Product
from storesense.settings import FollowupSettings
from storesense.stack import RunningStack, running_stack
from tests.api.auth_helpers import admin_headers
from tests.api.stacks import real_stack_settings
from tests.e2e.helpers import eventually
from tests.servers import Mosquitto, Redis

GTIN = "80614141123458"


class Series:
    """Points as the time-series store would return them, and the points submitted."""

    def __init__(self, points: Sequence[Point] = ()) -> None:
        self.points = list(points)
        self.submitted: list[Point] = []

    def submit(self, points: Sequence[Point]) -> None:
        self.submitted.extend(points)

    async def query(
        self, measurement: str, *, start_ns: int, end_ns: int,
        tags: Mapping[str, str] | None = None, limit: int | None = None,
    ) -> list[Point]:  # fmt: skip
        return [
            p for p in self.points
            if p.measurement == measurement and start_ns <= p.ts_ns < end_ns
        ]  # fmt: skip


@pytest.fixture
async def stack(
    tmp_path: Path, mosquitto: Mosquitto, redis_server: Redis
) -> AsyncIterator[RunningStack]:
    settings = real_stack_settings(
        tmp_path, mosquitto, redis_server, stores={"s1": {"locale": "en"}}
    )
    async with running_stack(settings) as running:
        await stored.save(running.state, [Member(member_id="m1", name="Ms Li", consent=True)])
        await stored.save(
            running.state,
            [Product(gtin=GTIN, style="COAT", name="coat", colour="navy", size="M", price=99.0)],
        )
        yield running


async def test_a_task_is_delivered_completed_and_its_alert_resolved(stack: RunningStack) -> None:
    headers = await admin_headers(stack.state)
    async with httpx.AsyncClient(base_url=stack.api_url, headers=headers) as client:
        unknown = await client.post("/api/v1/tasks", json={"store": "s1", "member_id": "zz"})
        assert unknown.status_code == 404 and unknown.json()["detail"]["field"] == "member_id"
        bad_gtin = await client.post(
            "/api/v1/tasks", json={"store": "s1", "member_id": "m1", "gtins": ["12x"]}
        )
        assert bad_gtin.status_code == 422 and bad_gtin.json()["detail"]["field"] == "gtins"
        created = await client.post(
            "/api/v1/tasks",
            json={"store": "s1", "member_id": "m1", "gtins": [GTIN], "assignee": "a1"},
        )
        assert created.status_code == 201, created.text
        task = created.json()
        assert task["body"] == "Ms Li tried the navy coat in M."
        # Announced like an alert: stored, and through the broker on the live feed.
        alerts = await eventually(
            lambda: client.get("/api/v1/alerts", params={"store": "s1"}),
            lambda r: any(a["id"] == task["alert_id"] for a in r.json().get("alerts", r.json())),
        )
        assert alerts.status_code == 200
        listed = (await client.get("/api/v1/tasks", params={"store": "s1", "state": "open"})).json()
        assert [t["id"] for t in listed["tasks"]] == [task["id"]]
        other = await client.post(
            f"/api/v1/tasks/{task['id']}/complete", json={"staff": "a2", "outcome": "contacted"}
        )
        assert other.status_code == 409
        bad_outcome = await client.post(
            f"/api/v1/tasks/{task['id']}/complete", json={"staff": "a1", "outcome": "meh"}
        )
        assert bad_outcome.status_code == 422
        done = await client.post(
            f"/api/v1/tasks/{task['id']}/complete", json={"staff": "a1", "outcome": "contacted"}
        )
        assert done.status_code == 200 and done.json()["state"] == "done"
        alert = await stack.state.alert(task["alert_id"])
        assert alert is not None and alert.state == "resolved" and alert.outcome == "served"
        assert (await client.get("/api/v1/tasks/0000000000000000000ff")).status_code == 404
        second = (
            await client.post("/api/v1/tasks", json={"store": "s1", "member_id": "m1"})
        ).json()
        cancelled = await client.post(f"/api/v1/tasks/{second['id']}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        late = await client.post(
            f"/api/v1/tasks/{second['id']}/complete", json={"staff": "a1", "outcome": "contacted"}
        )
        assert late.status_code == 409
        nowhere = await client.post("/api/v1/tasks", json={"store": "nowhere", "member_id": "m1"})
        assert nowhere.status_code == 404 and nowhere.json()["detail"]["field"] == "store"


async def test_rule_suggests_a_task_and_a_purchase_is_attributed(redis_server: Redis) -> None:
    state = RedisState(redis_server.url, prefix=f"t{uuid.uuid4().hex[:8]}")
    now_s = 1_800_000_000.0
    end_ms = int(now_s * 1000) - 60_000
    start_ms = end_ms - 30 * 60_000
    await stored.save(state, [Member(member_id="m1", name="Ms Li", consent=True)])
    await stored.save(state, [Product(gtin=GTIN, style="COAT", name="coat", size="M")])
    history = MemberHistory(visits=[start_ms], items=[(start_ms + 60_000, GTIN, "t")])
    await state.update("rules:member:s1:m1", lambda _: (msgspec.json.encode(history), None))
    visit = Point(
        "visit_end", {"store": "s1"},
        {"member_id": "m1", "duration_ms": end_ms - start_ms, "tried": 1, "bought": 0, "sales": 0},
        end_ms * 1_000_000,
    )  # fmt: skip
    series = Series([visit])
    published: list[Any] = []

    async def locale(_store: str) -> Any:
        return "zh-CN"

    service = FollowupService(
        state, locale, publish=published.append, points=series, clock=lambda: now_s
    )
    follower = FollowupFollower(service, state, series, FollowupSettings(), clock=lambda: now_s)
    await follower.sweep()
    await follower.sweep()  # the same visit again: no second task
    [task] = await service.find("s1")
    assert task.source == "rule" and [i.gtin for i in task.items] == [GTIN]
    assert task.locale == "zh-CN" and "Ms Li试穿了" in task.body
    assert [a.type for a in published] == ["followup.task"]
    # Two sales by the member within the window: the first is attributed, once.
    for n, ts_ms in enumerate((int(now_s * 1000) + 3_600_000, int(now_s * 1000) + 7_200_000)):
        fields: dict[str, str | int | float] = {
            "sale_id": f"sale-{n}",
            "qty": 1,
            "price": 99.0,
            "member_id": "m1",
        }
        series.points.append(
            Point("sale_item", {"store": "s1", "gtin": GTIN}, fields, ts_ms * 1_000_000)
        )
    later = FollowupFollower(service, state, series, FollowupSettings(), clock=lambda: now_s + 7300)
    await later.sweep()
    await later.sweep()
    attributed = await service.get(task.id)
    assert attributed is not None and attributed.attributed is not None
    assert attributed.attributed.sale_id == "sale-0" and attributed.attributed.amount == 99.0
    done = await service.complete(task.id, "a1", "purchased")
    assert done.state == "done" and done.attributed == attributed.attributed
    kinds = [(p.measurement, dict(p.tags)) for p in series.submitted]
    assert kinds == [
        ("followup_created", {"store": "s1", "source": "rule"}),
        ("followup_attributed", {"store": "s1", "outcome": "open", "source": "rule"}),
        ("followup_outcome", {"store": "s1", "outcome": "purchased", "source": "rule"}),
    ]
    assert series.submitted[1].fields["amount"] == 99.0
    await state.close()
