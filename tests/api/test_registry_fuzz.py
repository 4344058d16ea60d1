"""Whatever a client sends to the registry and task routes, the answer is never a 5xx
(bounded property run on the app in-process, in-memory state)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from storesense.backends.state.memory import MemoryState
from storesense.settings import Settings
from tests.api.auth_helpers import admin_headers

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)  # fmt: skip
segment = st.sampled_from(["s1", "x", "80614141123458", "0" * 21, "A b", "%2e%2e", "-"])
FIELDS = ["id", "name", "region", "timezone", "locale", "currency", "opening_hours", "kind",
          "zone", "config", "member_id", "gtins", "store", "staff", "outcome", "card_epcs",
          "app_key", "shifts", "gtin", "style", "price", "window_days"]  # fmt: skip
bodies = json_values | st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)
ROUTES = [
    ("PUT", "/api/v1/organisation"), ("POST", "/api/v1/regions"), ("PUT", "/api/v1/regions/{a}"),
    ("POST", "/api/v1/stores"), ("PUT", "/api/v1/stores/{a}"), ("DELETE", "/api/v1/stores/{a}"),
    ("POST", "/api/v1/stores/{a}/zones"), ("PUT", "/api/v1/stores/{a}/zones/{b}"),
    ("POST", "/api/v1/stores/{a}/devices"), ("PUT", "/api/v1/stores/{a}/devices/{b}"),
    ("POST", "/api/v1/members"), ("PUT", "/api/v1/members/{a}"), ("POST", "/api/v1/staff"),
    ("PUT", "/api/v1/staff/{a}"), ("POST", "/api/v1/products"), ("PUT", "/api/v1/products/{a}"),
    ("GET", "/api/v1/products/{a}"), ("POST", "/api/v1/tasks"),
    ("POST", "/api/v1/tasks/{a}/complete"), ("GET", "/api/v1/tasks/{a}"),
    ("GET", "/api/v1/stores/{a}/staff"), ("PUT", "/api/v1/stores/{a}/staff/{b}/shifts"),
]  # fmt: skip


def test_no_route_answers_5xx() -> None:
    state = MemoryState()
    app = create_app(Settings(), state)
    loop = asyncio.new_event_loop()
    headers = loop.run_until_complete(admin_headers(state))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    seed = [
        ("POST", "/api/v1/regions", {"id": "r1", "name": "R"}),
        ("POST", "/api/v1/stores", {"id": "s1", "name": "S", "region": "r1"}),
        ("POST", "/api/v1/stores/s1/zones", {"id": "x", "kind": "floor", "name": "F"}),
        ("POST", "/api/v1/members", {"member_id": "s1", "name": "M"}),
        ("POST", "/api/v1/staff", {"staff_id": "x", "name": "X", "stores": ["s1"]}),
    ]
    for method, path, body in seed:
        loop.run_until_complete(client.request(method, path, json=body, headers=headers))

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(ROUTES), segment, segment, bodies)
    def probe(route: tuple[str, str], a: str, b: str, body: Any) -> None:
        method, template = route
        path = template.format(a=a, b=b)
        response = loop.run_until_complete(
            client.request(method, path, json=body if method != "GET" else None, headers=headers)
        )
        assert response.status_code < 500, (method, path, body, response.text)

    try:
        probe()
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()
