"""The manager's analytics for simulated days equal the simulator's ground truth: two days of
one store (the same members both days) replayed through the whole stack, on real Mosquitto +
Redis + InfluxDB and on the embedded defaults (amqtt, memory, SQLite), then read back from
the analytics endpoints: footfall, visits, member visits, sales, try-ons and conversions per
SKU and style, per local day and per local hour, and members' repurchase over both days."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from simulators.catalog import write_products_csv
from simulators.days import plan_days, repurchase_truth
from simulators.population import write_members_csv
from simulators.run import SimulationOptions, SimulationPlan, run_simulation
from simulators.truth import GroundTruth
from storesense.backends.timeseries.factory import open_timeseries
from storesense.registry import stored
from storesense.registry.members import parse_members_csv
from storesense.registry.products import parse_products_csv
from storesense.stack import RunningStack, running_stack
from tests.api.analytics.client import logged_in
from tests.e2e.helpers import eventually, stack_settings
from tests.e2e.truth_check import expected_member_visits, points
from tests.servers import InfluxDB, Mosquitto, Redis

pytestmark = pytest.mark.slow
STORE = "flagship"
# +05:30: local hours are not UTC hours, so a bucket reckoned in the wrong zone shows.
TIMEZONE = "Asia/Kolkata"
FIRST_DAY_MS = 1_795_514_400_000  # 2026-11-24 10:00 UTC, 15:30 local; a 4-hour day after
DAYS = 2


@pytest.fixture(params=["external", "embedded"])
async def stack(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[RunningStack, int]]:
    """A running stack and the port of its broker."""
    stores = {STORE: {"timezone": TIMEZONE}}
    if request.param == "external":
        mosquitto: Mosquitto = request.getfixturevalue("mosquitto")
        redis: Redis = request.getfixturevalue("redis_server")
        influxdb: InfluxDB = request.getfixturevalue("influxdb")
        settings = stack_settings(
            tmp_path,
            broker={"url": mosquitto.url},
            state={"redis_url": redis.url, "key_prefix": f"t{uuid.uuid4().hex[:8]}"},
            timeseries={"influx_url": influxdb.url, "database": f"db{uuid.uuid4().hex[:8]}"},
            topic_root=f"r{uuid.uuid4().hex[:8]}",
            stores=stores,
        )
        port = mosquitto.port
    else:
        settings = stack_settings(tmp_path, stores=stores)
        port = settings.broker.embedded_port
    async with running_stack(settings) as running:
        yield running, port


async def simulate_days(stack: RunningStack, port: int, tmp_path: Path) -> list[SimulationPlan]:
    options = SimulationOptions(
        port=port, topic_root=stack.settings.topic_root, store=STORE, seed=7, speed=0,
        duration_s=4 * 3600, start_ms=FIRST_DAY_MS, visitors_per_hour=90, batch_size=50,
        member_count=40,
    )  # fmt: skip
    plans = plan_days(options, DAYS)
    members_csv, products_csv = tmp_path / "members.csv", tmp_path / "products.csv"
    write_members_csv(plans[0].members, members_csv)
    write_products_csv(plans[0].catalog, products_csv)
    await stored.save(stack.state, parse_members_csv(members_csv.read_text()))
    await stored.save(stack.state, parse_products_csv(products_csv.read_text()))
    for plan in plans:
        await run_simulation(plan.options, plan)
    return plans


async def settled(stack: RunningStack, truths: list[GroundTruth]) -> None:
    """Wait until every door event and every fact of the last sale is stored."""
    ts = open_timeseries(stack.settings)
    try:
        doors = sum(truth.events_by_type["door.crossing"] for truth in truths)
        sales = sum(truth.sales for truth in truths)
        await eventually(lambda: points(ts, "door_crossing"), lambda p: len(p) == doors, 120)
        await eventually(lambda: points(ts, "pos_sale"), lambda p: len(p) == sales, 60)
        await asyncio.sleep(1.0)  # the writer flushes every 0.2 s: let the last facts land
    finally:
        await ts.close()


def local_day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(TIMEZONE)).date().isoformat()


def local_hour(ms: int) -> str:
    at = datetime.fromtimestamp(ms / 1000, ZoneInfo(TIMEZONE))
    return at.replace(minute=0, second=0, microsecond=0).isoformat()


def expected_traffic(truth: GroundTruth) -> dict[str, Any]:
    member_visits = sum(expected_member_visits(truth).values())
    return {
        "footfall_in": truth.footfall_in,
        "footfall_out": truth.footfall_out,
        "visits": truth.visits,
        "member_visits": member_visits,
        "member_share": member_visits / truth.visits,
        "visits_with_sale": truth.sales,
        "sales_conversion": truth.sales / truth.visits,
    }


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/api/v1/analytics/{path}", params={"store": STORE, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_analytics_equal_ground_truth(
    stack: tuple[RunningStack, int], tmp_path: Path
) -> None:
    running, port = stack
    plans = await simulate_days(running, port, tmp_path)
    truths = [plan.scenario.truth for plan in plans]
    assert all(t.visits > 100 and sum(t.conversions.values()) > 5 for t in truths)
    await settled(running, truths)
    first, last = local_day(truths[0].start_ms), local_day(truths[-1].end_ms)
    end = (datetime.fromisoformat(last) + timedelta(days=1)).date().isoformat()
    period = {"from": first, "to": end}

    async with logged_in(running, "store_manager", (STORE,)) as client:
        days = await get(client, "traffic", bucket="day", **period)
        hours = await get(client, "traffic", bucket="hour", **{"from": first})
        conversion = await get(client, "conversion", **period)
        fitting = await get(client, "fitting-rooms", bucket="day", **period)
        repurchase = await get(client, "repurchase", **period)
        overview = await get(client, "overview", **period)

    # Per local day, and over both.
    assert days["period"]["timezone"] == TIMEZONE
    by_day = {bucket["start"][:10]: bucket["figures"] for bucket in days["buckets"]}
    for truth in truths:
        assert by_day[local_day(truth.start_ms)] == pytest.approx(expected_traffic(truth))
    totals = days["totals"]
    assert totals["footfall_in"] == sum(t.footfall_in for t in truths)
    assert totals["visits"] == sum(t.visits for t in truths)
    assert totals["member_visits"] == sum(sum(expected_member_visits(t).values()) for t in truths)
    assert totals["visits_with_sale"] == sum(t.sales for t in truths)
    assert days["stores"][STORE] == totals
    assert overview["traffic"] == totals

    # Per local hour of the first day (Kolkata: hours start at :30 UTC).
    arrivals: Counter[str] = Counter()
    parties: Counter[str] = Counter()
    for party in truths[0].parties:
        arrivals[local_hour(party.arrived_ms)] += party.party_size
        parties[local_hour(party.arrived_ms)] += 1
    by_hour = {b["start"]: b["figures"] for b in hours["buckets"]}
    assert len(by_hour) == 24 and next(iter(by_hour)).endswith("T00:00:00+05:30")
    assert {h: f["footfall_in"] for h, f in by_hour.items() if f["footfall_in"]} == arrivals
    assert {h: f["visits"] for h, f in by_hour.items() if f["visits"]} == parties

    # Try-ons and conversions per SKU and per style.
    tried = sum((Counter(t.try_ons) for t in truths), Counter())
    converted = sum((Counter(t.conversions) for t in truths), Counter())
    skus = {row["gtin"]: row for row in conversion["skus"]}
    assert {gtin: row["tried"] for gtin, row in skus.items() if row["tried"]} == tried
    assert {gtin: row["converted"] for gtin, row in skus.items() if row["converted"]} == converted
    style_of = {product.gtin: product.style for product in plans[0].catalog}
    assert all(row["style"] == style_of[gtin] for gtin, row in skus.items())
    tried_by_style, converted_by_style = Counter[str](), Counter[str]()
    for gtin, count in tried.items():
        tried_by_style[style_of[gtin]] += count
    for gtin, count in converted.items():
        converted_by_style[style_of[gtin]] += count
    styles = {row["style"]: row for row in conversion["styles"]}
    assert {s: row["tried"] for s, row in styles.items()} == tried_by_style
    assert {s: row["converted"] for s, row in styles.items() if row["converted"]} == (
        converted_by_style
    )
    assert conversion["totals"]["tried"] == fitting["totals"]["try_ons"] == tried.total()
    assert conversion["totals"]["converted"] == converted.total()

    # Members who bought, and bought again, over both days.
    expected = repurchase_truth(party for truth in truths for party in truth.parties)
    assert expected.members_repurchasing > 0  # the check means something
    assert repurchase["totals"]["members_buying"] == expected.members_buying
    assert repurchase["totals"]["members_repurchasing"] == expected.members_repurchasing
    assert repurchase["totals"]["member_sales"] == sum(expected.sales_by_member.values())
    assert repurchase["totals"]["repurchase_rate"] == pytest.approx(
        expected.members_repurchasing / expected.members_buying
    )
    assert overview["repurchase"] == repurchase["totals"]
