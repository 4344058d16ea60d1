"""Rule parameters over the API: the effective values, overrides validated (422 naming the
field), stored in the state backend where ingest picks them up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from rules.engine import RuleEngine
from rules.params import RulesConfig
from storesense.backends.state.memory import MemoryState
from tests.api.auth_helpers import admin_headers
from tests.e2e.helpers import stack_settings

RULES = "defaults:\n  fitting_room_unattended: {after_min: 6}\nstores:\n  s1:\n    restock: {enabled: false}\n"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, MemoryState, Path]]:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES)
    settings = stack_settings(
        tmp_path, ingest={"rules_path": rules_file}, stores={"s1": {"timezone": "Asia/Shanghai"}}
    )
    state = MemoryState()
    app = create_app(settings, state)
    transport = httpx.ASGITransport(app=app)
    headers = await admin_headers(state)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=headers
    ) as http:
        yield http, state, rules_file


async def test_get_shows_the_file_s_values_for_the_store(
    client: tuple[httpx.AsyncClient, MemoryState, Path],
) -> None:
    http, _, _ = client
    body = (await http.get("/api/v1/stores/s1/rules")).json()
    assert body["params"]["fitting_room_unattended"]["after_min"] == 6
    assert body["params"]["restock"]["enabled"] is False and body["overrides"] == {}
    other = (await http.get("/api/v1/stores/s2/rules")).json()
    assert other["params"]["restock"]["enabled"] is True
    # The store's timezone from the settings, as the engine applies it.
    assert (body["params"]["timezone"], other["params"]["timezone"]) == ("Asia/Shanghai", "UTC")


async def test_put_overrides_reach_the_engine(
    client: tuple[httpx.AsyncClient, MemoryState, Path],
) -> None:
    http, state, rules_file = client
    overrides = {"fitting_room_unattended": {"after_min": 3}, "member_arrived": {"tiers": ["gold"]}}
    response = await http.put("/api/v1/stores/s1/rules", json=overrides)
    assert response.status_code == 200, response.text
    assert response.json()["params"]["fitting_room_unattended"]["after_min"] == 3
    assert (await http.get("/api/v1/stores/s1/rules")).json()["overrides"] == overrides
    engine = RuleEngine(state, RulesConfig.load(rules_file), overrides_ttl_s=0)
    params = await engine.params("s1")
    assert params.fitting_room_unattended.after_min == 3
    assert params.member_arrived.tiers == ["gold"] and params.restock.enabled is False
    # a PUT replaces: what it leaves out falls back to the file
    await http.put("/api/v1/stores/s1/rules", json={})
    assert (await engine.params("s1")).fitting_room_unattended.after_min == 6


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"traffic_surge": {"factor": 0.5}}, "traffic_surge.factor", "greater than 1"),
        ({"traffic_surge": {"facter": 3}}, "traffic_surge.facter", "Extra inputs"),
        ({"no_such_rule": {}}, "no_such_rule", "Extra inputs"),
        ({"timezone": "Nowhere/Land"}, "timezone", "unknown time zone"),
        ({"timezone": "A" * 300}, "timezone", "unknown time zone"),  # not an OSError: 500
    ],
)
async def test_invalid_overrides_are_refused_naming_the_field(
    client: tuple[httpx.AsyncClient, MemoryState, Path], body: object, field: str, message: str
) -> None:
    http, _, _ = client
    response = await http.put("/api/v1/stores/s1/rules", json=body)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == field and message in error["message"]
    assert (await http.get("/api/v1/stores/s1/rules")).json()["overrides"] == {}


async def test_bad_store_name_is_refused(
    client: tuple[httpx.AsyncClient, MemoryState, Path],
) -> None:
    http, _, _ = client
    assert (await http.get("/api/v1/stores/Bad Store/rules")).status_code == 422
