"""Follow-up tasks in the analytics, end to end on real Redis and Mosquitto: a manager
creates two tasks over the API, completes one and cancels the other, the member buys at the
till (a `pos.sale` through the events route), the sale is attributed to the completed task
(a cancelled one attributes nothing), and `GET /api/v1/analytics/followups` and `overview`
count it all."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from storesense.backends.state.redis import RedisState
from storesense.registry import stored
from storesense.registry.members import Member
from storesense.registry.products import Product
from storesense.stack import running_stack
from tests.api.analytics.client import logged_in
from tests.api.auth_helpers import admin_headers
from tests.api.stacks import real_stack_settings
from tests.e2e.helpers import eventually
from tests.servers import Mosquitto, Redis

GTIN = "80614141123458"


async def test_a_purchase_after_a_task_shows_in_the_analytics(
    tmp_path: Path, mosquitto: Mosquitto, redis_server: Redis
) -> None:
    settings = real_stack_settings(
        tmp_path, mosquitto, redis_server, stores={"s1": {"locale": "en"}},
        followups={"interval_s": 0.2},
    )  # fmt: skip
    # The registry before the stack starts: ingest's directory knows the member at once.
    seed = RedisState(settings.state.redis_url or "", prefix=settings.state.key_prefix)
    await stored.save(seed, [Member(member_id="m1", name="Ms Li", consent=True)])
    await stored.save(seed, [Product(gtin=GTIN, style="COAT", name="coat", size="M", price=49.5)])
    await seed.close()
    now = datetime.now(UTC)
    period = {
        "store": "s1", "bucket": "hour",
        "from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(hours=1)).isoformat(),
    }  # fmt: skip
    async with (
        running_stack(settings) as stack,
        logged_in(stack, "store_manager", ("s1",)) as manager,
        httpx.AsyncClient(base_url=stack.api_url, headers=await admin_headers(stack.state)) as pos,
    ):
        created = await manager.post(
            "/api/v1/tasks", json={"store": "s1", "member_id": "m1", "gtins": [GTIN]}
        )
        assert created.status_code == 201, created.text
        task = created.json()
        done = await manager.post(
            f"/api/v1/tasks/{task['id']}/complete", json={"staff": "a1", "outcome": "contacted"}
        )
        assert done.status_code == 200 and done.json()["state"] == "done", done.text
        other = (
            await manager.post("/api/v1/tasks", json={"store": "s1", "member_id": "m1"})
        ).json()
        cancelled = await manager.post(f"/api/v1/tasks/{other['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text

        sale = {
            "type": "pos.sale", "id": "p1", "ts": int(time.time() * 1000), "sale_id": "S1",
            "member": {"id": "m1"}, "items": [{"gtin": GTIN, "qty": 2, "price": 49.5}],
        }  # fmt: skip
        posted = await pos.post("/api/v1/stores/s1/devices/pos-1/events", json=sale)
        assert posted.status_code == 202 and posted.json()["accepted"] == 1, posted.text
        attributed = await eventually(
            lambda: manager.get(f"/api/v1/tasks/{task['id']}"),
            lambda r: r.json().get("attributed") is not None,
            30,
        )
        assert attributed.json()["attributed"]["amount"] == 99.0

        report = await eventually(
            lambda: manager.get("/api/v1/analytics/followups", params=period),
            lambda r: r.status_code != 200 or r.json()["totals"]["purchases"] == 1,
            30,
        )
        overview = await manager.get("/api/v1/analytics/overview", params=period)
    assert report.status_code == 200, report.text
    totals = report.json()["totals"]
    to_purchase = totals.pop("median_time_to_purchase_s")
    to_complete = totals.pop("median_time_to_complete_s")
    assert totals == {
        "created": 2, "created_by_source": {"rule": 0, "user": 2},
        "completed": 1, "cancelled": 1, "outcomes": {"cancelled": 1, "contacted": 1},
        "purchases": 1, "purchase_amount": 99.0, "purchase_items": 2,
        "tasks_with_purchase": 1, "purchase_share": 0.5,
    }  # fmt: skip
    assert 0 <= to_complete < 60 and 0 <= to_purchase < 60
    assert report.json()["stores"]["s1"]["purchases"] == 1
    assert sum(b["figures"]["created"] for b in report.json()["buckets"]) == 2
    assert overview.status_code == 200, overview.text
    assert overview.json()["followups"] == report.json()["totals"]
