"""Alert objects (ARCHITECTURE.md section 3), as published on `{root}/v1/{store}/alerts`
and served by the API."""

from __future__ import annotations

import os
import time
from typing import Annotated, Any, Literal

import msgspec

AlertState = Literal["open", "claimed", "resolved", "escalated", "expired"]


class AlertMember(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    name: str
    tier: str | None = None


class Alert(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    store: str
    type: str
    ts: Annotated[int, msgspec.Meta(ge=0)]  # epoch milliseconds
    state: AlertState
    title: str
    body: str
    locale: Literal["en", "zh-CN"] = "en"
    zone: str | None = None
    member: AlertMember | None = None
    # Rule-specific facts behind the text (e.g. last_visit_ts), for apps that render their own.
    data: dict[str, Any] = msgspec.field(default_factory=dict)


def new_alert_id(ts_ms: int | None = None) -> str:
    """A unique id that sorts by creation time: 13 hex digits of ms, then 12 random."""
    stamp = int(time.time() * 1000) if ts_ms is None else ts_ms
    return f"{stamp:013x}{os.urandom(6).hex()}"


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Alert)


def encode_alert(alert: Alert) -> bytes:
    return _encoder.encode(alert)


def decode_alert(payload: bytes) -> Alert:
    return _decoder.decode(payload)
