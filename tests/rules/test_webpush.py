"""The Web Push channel against a real local HTTP server standing in for browsers' push
services: payloads encrypted for each browser (decrypted here with the browser's keys),
VAPID-signed with the service's stored key, sent to the right people only, retried when
no push service took them, and subscriptions a push service dropped are forgotten."""

from __future__ import annotations

import asyncio
import base64
import json
import os

import http_ece
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from rules.delivery.dispatcher import Dispatcher
from rules.delivery.push_store import (
    SUBSCRIPTION_TTL_S,
    SUBSCRIPTIONS_KEY,
    PushKeys,
    PushSubscription,
    remove_subscription,
    save_subscription,
    subscriptions,
    vapid_keys,
)
from rules.delivery.webpush import PushFailed, WebPushChannel
from storesense.backends.state.memory import MemoryState
from storesense.protocol.alerts import Alert
from tests.rules.receivers import Received, failing_first, receiver


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Browser:
    """A browser's push subscription keys (what PushManager.subscribe makes)."""

    def __init__(self, user: str, role: str, stores: tuple[str, ...]) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.user, self.role, self.stores = user, role, stores

    def subscription(self, endpoint: str) -> PushSubscription:
        public = self.private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return PushSubscription(
            endpoint=f"{endpoint}?to={self.user}",
            keys=PushKeys(p256dh=b64(public), auth=b64(self.auth)),
            user=self.user,
            role=self.role,
            stores=self.stores,
        )

    def read(self, received: Received) -> dict[str, object] | None:
        """The decrypted payload, or None when it was not encrypted for this browser."""
        try:
            plain = http_ece.decrypt(
                received.body, private_key=self.private, auth_secret=self.auth, version="aes128gcm"
            )
        except Exception:
            return None
        return dict(json.loads(plain))


def alert(store: str = "s1", **changes: object) -> Alert:
    base = {"id": "019ab0c0d0e0f1234567890ab", "store": store, "type": "member.arrived",
            "ts": 1, "state": "open", "title": "李娜（金卡）到店了", "body": "上次到店：3 天前。",
            "zone": "entrance"}  # fmt: skip
    return Alert(**{**base, **changes})  # type: ignore[arg-type]


ANN = ("s-001", "assistant", ("s1",))
BO = ("s-002", "assistant", ("s2",))
MIA = ("s-100", "store_manager", ("s1",))
HQ = ("hq", "hq_admin", ("*",))


async def subscribed(
    state: MemoryState, url: str, *people: tuple[str, str, tuple[str, ...]]
) -> list[Browser]:
    browsers = [Browser(*person) for person in people]
    for browser in browsers:
        await save_subscription(state, browser.subscription(url))
    return browsers


def readers(browsers: list[Browser], requests: list[Received]) -> dict[str, dict[str, object]]:
    """user -> payload, for every request some browser can decrypt."""
    found: dict[str, dict[str, object]] = {}
    for request in requests:
        for browser in browsers:
            payload = browser.read(request)
            if payload is not None:
                found[browser.user] = payload
    return found


async def test_new_alert_reaches_its_stores_staff_encrypted_and_vapid_signed() -> None:
    state = MemoryState()
    async with receiver(failing_first(0)) as push, httpx.AsyncClient() as client:
        browsers = await subscribed(state, push.url, ANN, BO, MIA, HQ)
        await WebPushChannel(state, client).deliver(alert())
    got = readers(browsers, push.requests)
    assert set(got) == {"s-001", "s-100", "hq"}  # not Bo: another store
    assert len(push.requests) == 3
    assert got["s-001"]["title"] == "李娜（金卡）到店了"
    assert got["s-001"]["url"] == f"/#alert={alert().id}"
    public_key = (await vapid_keys(state)).public_key
    for request in push.requests:
        authorization = request.headers["authorization"]
        assert authorization.startswith("vapid t=") and f"k={public_key}" in authorization
        assert Vapid02.verify(authorization)
        assert request.headers["content-encoding"] == "aes128gcm"
        assert int(request.headers["ttl"]) > 0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"state": "claimed", "version": 2, "claimed_by": "s-001"}, set()),
        ({"state": "resolved", "version": 3, "outcome": "purchased"}, set()),
        ({"state": "open", "quiet": True}, set()),
        ({"state": "escalated", "version": 2, "audience": "manager"}, {"s-100", "hq"}),
        ({"audience": "manager"}, {"s-100", "hq"}),
        ({"targets": ["s-001"]}, {"s-001", "s-100", "hq"}),
        ({"targets": ["s-009"]}, {"s-100", "hq"}),
    ],
)
async def test_only_news_is_pushed_and_to_the_people_it_is_for(
    change: dict[str, object], expected: set[str]
) -> None:
    state = MemoryState()
    async with receiver(failing_first(0)) as push, httpx.AsyncClient() as client:
        browsers = await subscribed(state, push.url, ANN, BO, MIA, HQ)
        await WebPushChannel(state, client).deliver(alert("s1", **change))
    assert set(readers(browsers, push.requests)) == expected


async def test_subscription_the_push_service_dropped_is_forgotten() -> None:
    state = MemoryState()
    async with receiver(lambda n: (410, {"error": "gone"})) as push, httpx.AsyncClient() as client:
        await subscribed(state, push.url, ANN)
        channel = WebPushChannel(state, client)
        await channel.deliver(alert())  # no error: nothing to retry
    assert await subscriptions(state) == []
    assert channel.forgotten == 1


async def test_push_service_failing_is_retried_until_it_takes_the_alert() -> None:
    state = MemoryState()
    async with receiver(failing_first(2)) as push, httpx.AsyncClient() as client:
        browsers = await subscribed(state, push.url, ANN)
        channel = WebPushChannel(state, client)
        with pytest.raises(PushFailed):
            await channel.deliver(alert())
        async with Dispatcher([channel], backoff_s=0.05) as dispatcher:
            dispatcher.publish(alert())
            await dispatcher.drain()
    assert len(push.requests) == 3 and len(push.accepted) == 1
    assert set(readers(browsers, push.accepted)) == {"s-001"}
    assert dispatcher.counters["webpush"].delivered == 1


async def test_vapid_keys_are_made_once_and_kept() -> None:
    state = MemoryState()
    first, second = await asyncio.gather(vapid_keys(state), vapid_keys(state))
    assert first == second == await vapid_keys(state)
    assert len(base64.urlsafe_b64decode(first.public_key + "==")) == 65  # raw P-256 point


async def test_subscriptions_are_one_document_renewed_on_save_and_forgotten_when_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = MemoryState()
    keys = PushKeys(p256dh="p", auth="a")
    now = [1_800_000_000.0]
    monkeypatch.setattr("rules.delivery.push_store.time.time", lambda: now[0])
    old = PushSubscription(
        endpoint="https://push.example/old", keys=keys, user="u1", role="assistant"
    )
    await save_subscription(state, old)
    now[0] += SUBSCRIPTION_TTL_S - 10
    new = PushSubscription(
        endpoint="https://push.example/new", keys=keys, user="u2", role="assistant"
    )
    await save_subscription(state, new)
    assert {s.user for s in await subscriptions(state)} == {"u1", "u2"}
    assert await state.scan("webpush:") == [(SUBSCRIPTIONS_KEY, await state.get(SUBSCRIPTIONS_KEY))]
    now[0] += 20  # the first was saved more than SUBSCRIPTION_TTL_S ago
    assert [s.user for s in await subscriptions(state)] == ["u2"]
    assert await remove_subscription(state, new.endpoint)
    assert not await remove_subscription(state, new.endpoint)
    assert await subscriptions(state) == []
