"""The analytics endpoints: parameters validated (422 naming the field), scope enforced,
empty periods answered with zeros, response models in the OpenAPI schema."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from storesense.stack import RunningStack, running_stack
from tests.api.analytics.client import logged_in
from tests.e2e.helpers import stack_settings

ENDPOINTS = (
    "traffic", "dwell", "fitting-rooms", "conversion", "repurchase", "alerts", "followups",
    "overview",
)  # fmt: skip


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[RunningStack]:
    settings = stack_settings(tmp_path, stores={"flagship": {"timezone": "Asia/Shanghai"}})
    async with running_stack(settings) as running:
        yield running


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bucket": "month"}, "bucket"),
        ({"store": "Not A Store"}, "store"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-11-26", "to": "2026-11-25"}, "to"),
        ({"from": "2026-01-01", "to": "2026-12-31", "bucket": "hour"}, "to"),
        ({"from": "0001-01-01"}, "from"),
        ({"to": "9999-12-31T23:59:59+14:00"}, "to"),
        ({"region": "east"}, "region"),
        ({"store": "flagship", "region": "east"}, "region"),
    ],
)
async def test_bad_parameters_are_422_naming_the_field(
    stack: RunningStack, params: dict[str, Any], field: str
) -> None:
    async with logged_in(stack, "hq_admin", ("*",)) as client:
        for endpoint in ENDPOINTS:
            response = await client.get(f"/api/v1/analytics/{endpoint}", params=params)
            assert response.status_code == 422, (endpoint, response.text)
            assert field in [error["loc"][1] for error in response.json()["detail"]], response.text


async def test_a_store_manager_sees_only_their_stores(stack: RunningStack) -> None:
    async with logged_in(stack, "store_manager", ("flagship",)) as client:
        mixed = await client.get(
            "/api/v1/analytics/traffic", params=[("store", "flagship"), ("store", "other")]
        )
        own = await client.get("/api/v1/analytics/traffic", params={"store": "flagship"})
    assert mixed.status_code == 403 and "other" in mixed.text
    assert own.status_code == 200 and own.json()["scope"]["stores"] == ["flagship"]


async def test_an_empty_day_is_zeros_in_the_stores_local_hours(stack: RunningStack) -> None:
    async with logged_in(stack, "store_manager", ("flagship",)) as client:
        response = await client.get(
            "/api/v1/analytics/traffic", params={"store": "flagship", "from": "2026-11-26"}
        )
        overview = await client.get("/api/v1/analytics/overview", params={"store": "flagship"})
    body = response.json()
    assert body["period"] == {
        "start": "2026-11-26T00:00:00", "end": "2026-11-27T00:00:00", "bucket": "hour",
        "timezone": "Asia/Shanghai",
    }  # fmt: skip
    assert [b["start"] for b in body["buckets"]][:2] == [
        "2026-11-26T00:00:00+08:00", "2026-11-26T01:00:00+08:00",
    ]  # fmt: skip
    assert len(body["buckets"]) == 24 and body["totals"]["visits"] == 0
    assert body["totals"]["sales_conversion"] is None
    assert overview.status_code == 200 and overview.json()["alerts"]["raised"] == 0


async def test_followups_answer_every_bucket_and_are_in_the_overview(stack: RunningStack) -> None:
    params = {"store": "flagship", "from": "2026-11-26", "to": "2026-11-28", "bucket": "day"}
    async with logged_in(stack, "store_manager", ("flagship",)) as client:
        response = await client.get("/api/v1/analytics/followups", params=params)
        overview = await client.get("/api/v1/analytics/overview", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [b["start"] for b in body["buckets"]] == [
        "2026-11-26T00:00:00+08:00", "2026-11-27T00:00:00+08:00",
    ]  # fmt: skip
    assert body["totals"]["created_by_source"] == {"rule": 0, "user": 0}
    assert body["totals"]["purchase_share"] is None and body["totals"]["purchases"] == 0
    assert list(body["stores"]) == ["flagship"]
    assert overview.json()["followups"] == body["totals"]


async def test_the_organisation_is_every_store_for_hq(stack: RunningStack) -> None:
    async with logged_in(stack, "hq_admin", ("*",)) as client:
        response = await client.get("/api/v1/analytics/repurchase", params={"bucket": "day"})
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == {"stores": None, "region": None}


async def test_openapi_documents_every_endpoint_with_its_model(stack: RunningStack) -> None:
    async with logged_in(stack, "hq_admin", ("*",)) as client:
        schema = (await client.get("/openapi.json")).json()
    for endpoint in ENDPOINTS:
        get = schema["paths"][f"/api/v1/analytics/{endpoint}"]["get"]
        assert "$ref" in get["responses"]["200"]["content"]["application/json"]["schema"]
        assert {p["name"] for p in get["parameters"]} >= {"store", "region", "from", "to", "bucket"}
    assert "TrafficReport" in schema["components"]["schemas"]


ODD_VALUES: dict[str, list[str]] = {
    "store": ["flagship", "other", "", "A", "x" * 65, "flag ship", "é", "%00", "-a"],
    "region": ["east", "", "EAST", "x" * 80],
    "from": ["2026-11-26", "2026-11-26T10:00:00+08:00", "2026-11-26T10:00", "0", "-1",
             "1e30", "2199-12-31", "2200-01-01", "1970-01-01", "2026-02-30", "", "now",
             "2026-11-26T10:00:00+23:59", "99999999999999999999"],
    "bucket": ["hour", "day", "week", "", "HOUR", "month"],
}  # fmt: skip
ODD_VALUES["to"] = ODD_VALUES["from"]


async def test_no_combination_of_parameters_is_a_server_error(stack: RunningStack) -> None:
    rng = random.Random(7)
    async with logged_in(stack, "hq_admin", ("*",)) as client:
        for _ in range(150):
            params: list[tuple[str, str | int | float | bool | None]] = [
                (name, rng.choice(values))
                for name, values in ODD_VALUES.items()
                if rng.random() < 0.5
                for _ in range(rng.choice((1, 1, 2)))
            ]
            endpoint = rng.choice(ENDPOINTS)
            response = await client.get(f"/api/v1/analytics/{endpoint}", params=params)
            assert response.status_code < 500, (endpoint, params, response.text)
            assert response.status_code in (200, 422), (endpoint, params, response.text)
