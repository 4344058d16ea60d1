"""The registry over the API on real Redis and Mosquitto: organisation, regions, stores,
zones with 404/409/422 naming the field; device provisioning (credentials once, retained
config on the device's topic); member/staff/product CRUD and exports."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from storesense.registry import stored
from storesense.registry.devices import verify_password
from storesense.registry.members import Member
from storesense.registry.provisioning import devices
from storesense.registry.stores import load_store, store_locale, stores_in_region
from storesense.stack import RunningStack, running_stack
from tests.api.auth_helpers import admin_headers
from tests.api.stacks import real_stack_settings
from tests.servers import Mosquitto, Redis

STORE = {
    "id": "sh-1", "name": "Shanghai", "region": "east", "timezone": "Asia/Shanghai",
    "locale": "zh-CN", "currency": "CNY", "opening_hours": {"mon": ["10:00-22:00"]},
}  # fmt: skip
RFID_CONFIG = {"antennas": {"1": "fitting-room-1", "2": "fitting-room-2"}}


@pytest.fixture
async def stack(
    tmp_path: Path, mosquitto: Mosquitto, redis_server: Redis
) -> AsyncIterator[RunningStack]:
    settings = real_stack_settings(tmp_path, mosquitto, redis_server)
    async with running_stack(settings) as running:
        yield running


@pytest.fixture
async def client(stack: RunningStack) -> AsyncIterator[httpx.AsyncClient]:
    headers = await admin_headers(stack.state)
    async with httpx.AsyncClient(base_url=stack.api_url, headers=headers) as http:
        yield http


def _retained(port: int, topic: str) -> bytes:
    """The retained message on `topic`, as a device subscribing would get it."""
    got: list[bytes] = []  # payloads, as received
    client = paho.Client(CallbackAPIVersion.VERSION2)
    client.on_message = lambda _c, _u, message: got.append(bytes(message.payload))
    client.connect("127.0.0.1", port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    try:
        for _ in range(100):
            if got:
                break
            time.sleep(0.05)
    finally:
        client.loop_stop()
        client.disconnect()
    assert got, f"nothing retained on {topic}"
    return got[0]


async def test_organisation_regions_stores_and_zones(
    stack: RunningStack, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/api/v1/organisation")).status_code == 404
    assert (await client.put("/api/v1/organisation", json={"name": "Brand"})).status_code == 200
    unknown_region = await client.post("/api/v1/stores", json=STORE)
    assert (
        unknown_region.status_code == 422 and unknown_region.json()["detail"]["field"] == "region"
    )
    assert (
        await client.post("/api/v1/regions", json={"id": "east", "name": "East"})
    ).status_code == 201
    again = await client.post("/api/v1/regions", json={"id": "east", "name": "East"})
    assert again.status_code == 409
    created = await client.post("/api/v1/stores", json=STORE)
    assert created.status_code == 201, created.text
    assert (await client.post("/api/v1/stores", json=STORE)).status_code == 409
    bad_tz = await client.put(
        "/api/v1/stores/sh-1",
        json={k: v for k, v in STORE.items() if k != "id"} | {"timezone": "Nowhere/X"},
    )
    assert bad_tz.status_code == 422 and bad_tz.json()["detail"][0]["loc"] == ["body", "timezone"]
    assert (await client.get("/api/v1/stores/nope")).status_code == 404
    assert [s["id"] for s in (await client.get("/api/v1/regions/east/stores")).json()] == ["sh-1"]
    zone = {"id": "fitting-room-1", "kind": "fitting_room", "name": "Fitting room 1"}
    assert (await client.post("/api/v1/stores/sh-1/zones", json=zone)).status_code == 201
    assert (await client.post("/api/v1/stores/sh-1/zones", json=zone)).status_code == 409
    assert (await client.post("/api/v1/stores/nope/zones", json=zone)).status_code == 404
    bad_kind = await client.post("/api/v1/stores/sh-1/zones", json={**zone, "kind": "roof"})
    assert bad_kind.status_code == 422 and bad_kind.json()["detail"][0]["loc"] == ["body", "kind"]
    in_use = await client.delete("/api/v1/regions/east")
    assert in_use.status_code == 409 and "sh-1" in in_use.text
    # The read API other components use.
    store = await load_store(stack.state, "sh-1")
    assert store is not None and store.timezone == "Asia/Shanghai"
    assert [s.id for s in await stores_in_region(stack.state, "east")] == ["sh-1"]
    assert await store_locale(stack.state, "sh-1", stack.settings) == "zh-CN"
    assert await store_locale(stack.state, "elsewhere", stack.settings) == "en"


async def test_registering_a_device_issues_credentials_and_a_retained_config(
    stack: RunningStack, client: httpx.AsyncClient, mosquitto: Mosquitto
) -> None:
    await client.post("/api/v1/regions", json={"id": "east", "name": "East"})
    await client.post("/api/v1/stores", json=STORE)
    await client.post(
        "/api/v1/stores/sh-1/zones",
        json={"id": "fitting-room-1", "kind": "fitting_room", "name": "F1"},
    )
    body = {"id": "rfid-1", "kind": "rfid", "zone": "fitting-room-1", "config": RFID_CONFIG}
    unknown_zone = await client.post("/api/v1/stores/sh-1/devices", json={**body, "zone": "attic"})
    assert unknown_zone.status_code == 422 and unknown_zone.json()["detail"]["field"] == "zone"
    bad_config = await client.post(
        "/api/v1/stores/sh-1/devices", json={**body, "config": {"antennas": {"1": "x"}, "bogus": 1}}
    )
    assert bad_config.status_code == 422 and "bogus" in bad_config.text
    registered = await client.post("/api/v1/stores/sh-1/devices", json=body)
    assert registered.status_code == 201, registered.text
    answer = registered.json()
    assert answer["credentials"]["username"] == "sh-1.rfid-1" and answer["config_published"]
    assert (await client.post("/api/v1/stores/sh-1/devices", json=body)).status_code == 409
    [stored_device] = await devices(stack.state).list("sh-1")
    assert verify_password(answer["credentials"]["password"], stored_device.password_hash)
    shown = (await client.get("/api/v1/stores/sh-1/devices/rfid-1")).json()
    assert "password_hash" not in shown and "password" not in json.dumps(shown)
    topic = answer["config_topic"]
    assert topic == f"{stack.settings.topic_root}/v1/sh-1/rfid-1/config"
    retained = await asyncio.to_thread(_retained, mosquitto.port, topic)
    assert json.loads(retained) == RFID_CONFIG
    rotated = (await client.post("/api/v1/stores/sh-1/devices/rfid-1/credentials")).json()
    assert rotated["credentials"]["password"] != answer["credentials"]["password"]
    passwd = (await client.get("/api/v1/devices/mosquitto/passwd")).text
    assert passwd.startswith("sh-1.rfid-1:$7$")
    acl = (await client.get("/api/v1/devices/mosquitto/acl")).text
    assert f"topic write {stack.settings.topic_root}/v1/sh-1/rfid-1/events" in acl
    assert (await client.delete("/api/v1/stores/sh-1")).status_code == 409  # a device remains
    assert (await client.delete("/api/v1/stores/sh-1/devices/rfid-1")).status_code == 204
    assert (await client.delete("/api/v1/stores/sh-1/devices/rfid-1")).status_code == 404
    assert (await client.delete("/api/v1/stores/sh-1")).status_code == 204


async def test_members_staff_and_products_crud_and_exports(
    stack: RunningStack, client: httpx.AsyncClient
) -> None:
    member: dict[str, Any] = {"member_id": "m1", "name": "Li Na", "tier": "gold", "consent": True,
                              "card_epcs": ["e2" * 12], "app_key": "00" * 16}  # fmt: skip
    assert (await client.post("/api/v1/members", json=member)).status_code == 201
    assert (await client.post("/api/v1/members", json=member)).status_code == 409
    bad = await client.post(
        "/api/v1/members", json={**member, "member_id": "m2", "card_epcs": ["xyz"]}
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][:2] == ["body", "card_epcs"]
    shown = (await client.get("/api/v1/members/m1")).json()
    assert shown["has_app_key"] and "app_key" not in shown
    replaced = await client.put("/api/v1/members/m1", json={"name": "Li Na", "consent": False})
    assert replaced.status_code == 200 and replaced.json()["has_app_key"]  # key kept
    assert (await client.put("/api/v1/members/zz", json={"name": "X"})).status_code == 404
    csv_text = (await client.get("/api/v1/members/export")).text
    assert csv_text.splitlines()[1] == "m1,Li Na,,,false,," + "00" * 16
    exported = (await client.get("/api/v1/members/export?format=json")).json()
    assert exported["members"][0]["member_id"] == "m1"
    staff = {"staff_id": "s1", "name": "Wang", "role": "assistant", "stores": ["sh-1"],
             "shifts": [{"store": "sh-1", "days": ["mon"], "hours": "10:00-18:00"}]}  # fmt: skip
    assert (await client.post("/api/v1/staff", json=staff)).status_code == 201
    # A shift here follows a store's own shift rules: what one store's staff listing
    # promises (a zone is a non-empty id, a shift has a day) is not broken from HQ.
    for bad_shift, field in (({"zones": [""]}, "zones"), ({"days": []}, "days")):
        shift = {"store": "sh-1", "days": ["mon"], "hours": "10:00-18:00", **bad_shift}
        refused = await client.post(
            "/api/v1/staff", json={**staff, "staff_id": "s2", "shifts": [shift]}
        )
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"][:4] == ["body", "shifts", 0, field]
    assert (await client.get("/api/v1/staff/s2")).status_code == 404
    reimport = await client.post(
        "/api/v1/staff/import",
        content="staff_id,name,role,badge_epcs,beacons\ns1,Wang Wei,assistant,,\n",
    )
    assert reimport.status_code == 200
    after = (await client.get("/api/v1/staff/s1")).json()
    assert after["name"] == "Wang Wei" and after["shifts"][0]["hours"] == "10:00-18:00"
    product = {
        "gtin": "80614141123458",
        "style": "COAT",
        "name": "Coat",
        "colour": "navy",
        "size": "M",
        "price": 99.5,
    }
    assert (await client.post("/api/v1/products", json=product)).status_code == 201
    bad_gtin = await client.post("/api/v1/products", json={**product, "gtin": "80614141123459"})
    assert bad_gtin.status_code == 422 and bad_gtin.json()["detail"][0]["loc"] == ["body", "gtin"]
    products_csv = (await client.get("/api/v1/products/export")).text
    assert (
        products_csv == "gtin,style,name,colour,size,price\n80614141123458,COAT,Coat,navy,M,99.5\n"
    )
    page = (await client.get("/api/v1/products?limit=1")).json()
    assert page["total"] == 1 and page["next_after"] is None
    assert (await client.delete("/api/v1/members/m1")).status_code == 204
    assert (await client.get("/api/v1/members/m1")).status_code == 404
    assert await stored.load_one(stack.state, Member, "m1") is None
