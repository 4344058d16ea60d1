"""Alert objects (ARCHITECTURE.md section 3), as published on `{root}/v1/{store}/alerts`
and served by the API."""

from __future__ import annotations

import os
import time
from typing import Annotated, Any, Literal, get_args

import msgspec

AlertState = Literal["open", "claimed", "resolved", "escalated", "expired"]
# What the assistant reports when resolving: a closed set, so outcomes can be counted.
Outcome = Literal["served", "purchased", "not_needed", "no_show", "false_alarm"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)
Audience = Literal["assistant", "manager"]
# States an alert can still be claimed in; `resolved` and `expired` are final.
CLAIMABLE: frozenset[str] = frozenset({"open", "escalated"})
FINAL: frozenset[str] = frozenset({"resolved", "expired"})


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
    # Lifecycle (all optional: alerts from older producers decode unchanged). Every change
    # bumps `version` and sets `updated`; clients upsert by `id`, keeping the highest version.
    rule: str | None = None
    subject: str | None = None  # with store and rule, the dedupe/cooldown key
    audience: Audience = "assistant"
    targets: list[str] = msgspec.field(default_factory=list)  # staff ids; empty = everyone
    version: int = 1
    updated: int = 0  # epoch ms of the latest change; 0 = never changed since raised
    quiet: bool = False  # raised during the store's quiet hours: stored, not pushed
    due: int | None = None  # epoch ms of the next timed change (escalation, expiry)
    delivered: int | None = None  # epoch ms a channel first confirmed delivery
    claimed_by: str | None = None
    claimed: int | None = None  # epoch ms
    escalated: int | None = None
    resolved_by: str | None = None
    resolved: int | None = None
    outcome: Outcome | None = None
    expired: int | None = None


def changed_ms(alert: Alert) -> int:
    """When the alert last changed: `updated`, or the creation time in its id."""
    if alert.updated:
        return alert.updated
    try:
        return int(alert.id[:13], 16)
    except ValueError:
        return 0


def change_cursor(alert: Alert) -> str:
    """A stream position (SSE event id, `after`): change time then id, both hex, so that
    cursors sort in change order. Its first 13 digits are a time, like an alert id's."""
    return f"{changed_ms(alert):013x}{alert.id}"


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
