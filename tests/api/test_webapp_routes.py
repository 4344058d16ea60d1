"""The web app's routes: its files are served without a token (they hold no data), Web Push
subscriptions are kept with the subscriber's role and stores, and the fitting-room board
shows a store's rooms only to those who may see the store."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from api.auth.bootstrap import add_user
from rules.delivery.push_store import subscriptions
from storesense.protocol.sgtin import encode_sgtin96, make_gtin14
from storesense.registry import stored
from storesense.registry.members import Member
from storesense.registry.products import Product
from storesense.stack import RunningStack, running_stack
from tests.e2e.helpers import eventually, publish, stack_settings

PASSWORD = "correct-horse-battery"


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[RunningStack]:
    async with running_stack(stack_settings(tmp_path)) as running:
        await add_user(running.state, "ann", name="Ann", role="assistant", stores=["s1"],
                       staff="s-001", password=PASSWORD)  # fmt: skip
        await add_user(running.state, "hq", name="HQ", role="hq_admin", password=PASSWORD)
        yield running


async def login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": "Bearer " + response.json()["access_token"]}


def browser_subscription(endpoint: str) -> dict[str, object]:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()  # noqa: E731
    return {"endpoint": endpoint, "expirationTime": None,
            "keys": {"p256dh": b64(raw), "auth": b64(os.urandom(16))}}  # fmt: skip


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html"),
        ("/app/main.js", "text/javascript"),
        ("/app/views/assistant.js", "text/javascript"),
        ("/sw.js", "text/javascript"),
        ("/manifest.webmanifest", "application/manifest+json"),
        ("/icons/icon-192.png", "image/png"),
    ],
)
async def test_app_files_are_served_without_a_token(
    stack: RunningStack, path: str, content_type: str
) -> None:
    async with httpx.AsyncClient(base_url=stack.api_url) as client:
        response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)
    if path == "/sw.js":
        assert response.headers["service-worker-allowed"] == "/"


@pytest.mark.parametrize(
    "path", ["/app/../app.py", "/app/%2e%2e/routes/push.py", "/app/nothing.js", "/icons/x.exe"]
)
async def test_nothing_outside_the_app_files_is_served(stack: RunningStack, path: str) -> None:
    async with httpx.AsyncClient(base_url=stack.api_url) as client:
        response = await client.get(path)
    assert response.status_code in (401, 404, 422)
    assert "import" not in response.text


async def test_manifest_names_icons_that_exist(stack: RunningStack) -> None:
    async with httpx.AsyncClient(base_url=stack.api_url) as client:
        manifest = json.loads((await client.get("/manifest.webmanifest")).content)
        assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
        for icon in manifest["icons"]:
            assert (await client.get(icon["src"])).status_code == 200


async def test_subscription_is_kept_with_the_users_stores(stack: RunningStack) -> None:
    async with httpx.AsyncClient(base_url=stack.api_url) as client:
        assert (await client.get("/api/v1/push/key")).status_code == 401
        ann = await login(client, "ann")
        key = (await client.get("/api/v1/push/key", headers=ann)).json()["public_key"]
        assert len(base64.urlsafe_b64decode(key + "==")) == 65
        hq = await login(client, "hq")
        assert (await client.get("/api/v1/push/key", headers=hq)).json()["public_key"] == key

        body = browser_subscription("https://push.example.com/send/abc")
        created = await client.post("/api/v1/push/subscriptions", json=body, headers=ann)
        assert created.status_code == 201, created.text
        await client.post(
            "/api/v1/push/subscriptions",
            json=browser_subscription("https://push.example.com/send/hq"),
            headers=hq,
        )
        kept = {s.endpoint: s for s in await subscriptions(stack.state)}
        assert kept["https://push.example.com/send/abc"].stores == ("s1",)
        assert kept["https://push.example.com/send/abc"].user == "s-001"
        assert kept["https://push.example.com/send/abc"].role == "assistant"
        assert kept["https://push.example.com/send/hq"].stores == ("*",)

        removed = await client.post(
            "/api/v1/push/subscriptions/delete", json={"endpoint": body["endpoint"]}, headers=ann
        )
        assert removed.json() == {"removed": True}
        assert [s.endpoint for s in await subscriptions(stack.state)] == [
            "https://push.example.com/send/hq"
        ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endpoint": "ftp://push.example.com/x"}, "endpoint"),
        ({"keys": {"p256dh": "short", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "p256dh"),
        ({"keys": {"p256dh": "A" * 87, "auth": "not base64!"}}, "auth"),
    ],
)
async def test_bad_subscription_is_refused_naming_the_field(
    stack: RunningStack, change: dict[str, object], field: str
) -> None:
    async with httpx.AsyncClient(base_url=stack.api_url) as client:
        ann = await login(client, "ann")
        body = {**browser_subscription("https://push.example.com/send/abc"), **change}
        response = await client.post("/api/v1/push/subscriptions", json=body, headers=ann)
    assert response.status_code == 422
    assert field in json.dumps(response.json()["detail"])


async def test_fitting_room_board_is_for_the_stores_people_only(stack: RunningStack) -> None:
    async with httpx.AsyncClient(base_url=stack.api_url) as client:
        ann = await login(client, "ann")
        own = await client.get("/api/v1/stores/s1/fitting-rooms", headers=ann)
        assert own.status_code == 200 and own.json() == {"store": "s1", "rooms": []}
        other = await client.get("/api/v1/stores/s2/fitting-rooms", headers=ann)
        assert other.status_code == 403


async def test_fitting_room_board_shows_who_is_in_and_what_they_try(stack: RunningStack) -> None:
    gtin = make_gtin14(0, "4012345", "00001")
    await stored.save(stack.state, [Product(gtin=gtin, style="coat-1", name="Wool coat",
                                            colour="navy", size="M")])  # fmt: skip
    card = "e2801170000002aabbccdd01"
    await stored.save(stack.state, [Member(member_id="m-1", name="Li Na", tier="gold",
                                           phone="+8613800000000", consent=True,
                                           card_epcs=(card,))])  # fmt: skip
    now = int(time.time() * 1000)
    garment = encode_sgtin96(gtin, 7, company_prefix_length=7)
    topic = "storesense/v1/s1/rfid-fr2/events"
    port = stack.settings.broker.embedded_port
    await publish(port, topic, [
        {"id": "1", "ts": now - 120_000, "type": "rfid.tag", "epc": card, "action": "enter",
         "zone": "fitting-room-2"},
        {"id": "2", "ts": now - 60_000, "type": "rfid.tag", "epc": garment, "action": "enter",
         "zone": "fitting-room-2"},
    ])  # fmt: skip
    async with httpx.AsyncClient(base_url=stack.api_url) as client:
        ann = await login(client, "ann")

        async def board() -> list[dict[str, object]]:
            response = await client.get("/api/v1/stores/s1/fitting-rooms", headers=ann)
            rooms: list[dict[str, object]] = response.json()["rooms"]
            return rooms

        rooms = await eventually(board, lambda rooms: bool(rooms) and bool(rooms[0]["occupied"]))
    room = rooms[0]
    assert room["zone"] == "fitting-room-2" and room["since_ms"] == now - 60_000
    assert room["items"] == [{"gtin": gtin, "name": "Wool coat", "colour": "navy", "size": "M"}]
    assert room["tried"] == 1 and room["staff_present"] is False
    # Name and tier to greet them; never the phone.
    assert room["member"] == {"id": "m-1", "name": "Li Na", "tier": "gold"}
