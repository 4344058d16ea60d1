"""Channel: a generic webhook. Each alert change is POSTed as the alert's JSON, signed.

Headers (receivers should check all three):

- `X-Storesense-Timestamp`: Unix seconds when this attempt was signed; reject requests
  older than a few minutes (replays).
- `X-Storesense-Signature`: `sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>`;
  compare in constant time.
- `X-Storesense-Delivery`: `<alert id>:<state>`, the same on every retry of one change, so a
  receiver that got a delivery whose acknowledgement was lost can recognise the retry.

Any 2xx answer is success; anything else (or no answer within the timeout) is retried by
the dispatcher with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Collection

import httpx

from storesense.protocol.alerts import Alert, encode_alert

SIGNATURE_HEADER = "X-Storesense-Signature"
TIMESTAMP_HEADER = "X-Storesense-Timestamp"
DELIVERY_HEADER = "X-Storesense-Delivery"


class DeliveryFailed(Exception):
    """The receiver did not accept a delivery (the dispatcher retries it)."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Storesense-Signature` value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (constant-time comparison); it should also bound the age."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def delivery_id(alert: Alert) -> str:
    return f"{alert.id}:{alert.state}"


def for_store(stores: Collection[str], alert: Alert) -> bool:
    return not stores or alert.store in stores


class WebhookChannel:
    def __init__(
        self,
        name: str,
        url: str,
        secret: str,
        client: httpx.AsyncClient,
        *,
        stores: Collection[str] = (),
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._url = url
        self._secret = secret
        self._client = client
        self._stores = frozenset(stores)
        self._timeout = httpx.Timeout(timeout_s)
        self._clock = clock

    async def deliver(self, alert: Alert) -> None:
        if not for_store(self._stores, alert):
            return
        body = encode_alert(alert)
        timestamp = str(int(self._clock()))
        response = await self._client.post(
            self._url,
            content=body,
            headers={
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign(self._secret, timestamp, body),
                DELIVERY_HEADER: delivery_id(alert),
            },
            timeout=self._timeout,
        )
        if not response.is_success:
            raise DeliveryFailed(f"{self._url} answered {response.status_code}")
