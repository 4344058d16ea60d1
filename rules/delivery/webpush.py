"""Channel: Web Push to the browsers of the store's staff who subscribed in the web app.

Only news is pushed: a new alert (version 1, `open`) to the store's subscribers, and an
escalation to its managers; claims and resolutions reach open pages over the live
stream, and a phone in a pocket does not need to buzz for them. Payloads are encrypted
for each browser (RFC 8291, `aes128gcm`) and signed with the service's VAPID key (RFC
8292) by `pywebpush`, then POSTed to the browser's push service.

A push service answering 404 or 410 has dropped the subscription: it is forgotten. Other
failures are retried by the dispatcher only when no subscriber got the alert, so a retry
never buzzes a phone twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx
from py_vapid import Vapid02
from pywebpush import WebPusher

from rules.delivery.push_store import (
    PushSubscription,
    VapidKeys,
    remove_subscription,
    subscriptions,
    vapid_keys,
)
from storesense.backends.state.base import StateStore
from storesense.protocol.alerts import Alert

log = logging.getLogger(__name__)

MANAGER_ROLES = frozenset({"store_manager", "region_manager", "hq_admin"})
STAFF_ROLES = MANAGER_ROLES | {"assistant"}
DEFAULT_SUBJECT = "mailto:storesense@example.com"
TTL_S = 300  # an arrival is stale after a few minutes: the push service may drop it then


class PushFailed(Exception):
    """No subscriber's push service accepted the alert (the dispatcher retries it)."""


def is_news(alert: Alert) -> bool:
    """A change worth a notification: a new alert, or an escalation (not in quiet hours)."""
    new = alert.state == "open" and alert.version <= 1
    return not alert.quiet and (new or alert.state == "escalated")


def recipients(alert: Alert, subscribed: Sequence[PushSubscription]) -> list[PushSubscription]:
    """Who is told of this change: a new alert goes to the store's staff (its `targets`
    only, when it names some; managers only, for manager alerts); an escalation to its
    managers; nothing else is pushed."""
    if not is_news(alert):
        return []
    if alert.state == "open":
        roles = MANAGER_ROLES if alert.audience == "manager" else STAFF_ROLES
        targets = set(alert.targets) if alert.audience == "assistant" else set()
    else:  # escalated
        roles, targets = MANAGER_ROLES, set()
    chosen = []
    for subscription in subscribed:
        if subscription.role not in roles:
            continue
        if alert.store not in subscription.stores and "*" not in subscription.stores:
            continue
        if targets and subscription.user not in targets and subscription.role == "assistant":
            continue
        chosen.append(subscription)
    return chosen


def payload(alert: Alert) -> bytes:
    """What the service worker shows: small (push services take about 4 KB)."""
    return json.dumps(
        {
            "id": alert.id,
            "store": alert.store,
            "type": alert.type,
            "state": alert.state,
            "title": alert.title[:200],
            "body": alert.body[:600],
            "ts": alert.ts,
            "url": f"/#alert={alert.id}",
        },
        ensure_ascii=False,
    ).encode()


def encrypted_request(
    subscription: PushSubscription, body: bytes, keys: VapidKeys, subject: str, now_s: float
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one push message (CPU work: run it off the event loop)."""
    encoded = WebPusher(subscription.info()).encode(body, "aes128gcm")
    parts = urlsplit(subscription.endpoint)
    claims: dict[str, str | int] = {
        "sub": subject,
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int(now_s) + 12 * 3600,
    }
    vapid = Vapid02.from_pem(keys.private_pem.encode())
    headers = {
        **vapid.sign(claims),
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "TTL": str(TTL_S),
        "Urgency": "high",
    }
    return bytes(encoded["body"]), headers


class WebPushChannel:
    name = "webpush"

    def __init__(
        self,
        state: StateStore,
        client: httpx.AsyncClient,
        *,
        subject: str = DEFAULT_SUBJECT,
        timeout_s: float = 5.0,
    ) -> None:
        self._state = state
        self._client = client
        self._subject = subject
        self._timeout = httpx.Timeout(timeout_s)
        self.sent = 0
        self.forgotten = 0

    async def deliver(self, alert: Alert) -> None:
        if not is_news(alert):
            return  # most changes (claims, resolutions): no need to read the subscriptions
        chosen = recipients(alert, await subscriptions(self._state))
        if not chosen:
            return
        keys = await vapid_keys(self._state)
        body = payload(alert)
        results = await asyncio.gather(
            *(self._send(subscription, body, keys) for subscription in chosen),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures:
            log.warning("web push failed alert=%s error=%r", alert.id, failure)
        if failures and len(failures) == len(chosen):
            raise PushFailed(f"{len(failures)} push services refused alert {alert.id}")

    async def _send(self, subscription: PushSubscription, body: bytes, keys: VapidKeys) -> None:
        content, headers = await asyncio.to_thread(
            encrypted_request, subscription, body, keys, self._subject, time.time()
        )
        response = await self._client.post(
            subscription.endpoint, content=content, headers=headers, timeout=self._timeout
        )
        if response.status_code in (404, 410):
            self.forgotten += 1
            await remove_subscription(self._state, subscription.endpoint)
            log.info("web push subscription gone user=%s", subscription.user)
            return
        if not response.is_success:
            raise PushFailed(f"push service answered {response.status_code}")
        self.sent += 1
