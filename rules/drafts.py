"""What a rule returns: the facts of an alert, before texts, id and delivery."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from storesense.protocol.alerts import AlertMember


@dataclass(frozen=True, slots=True)
class AlertDraft:
    type: str
    store: str
    ts_ms: int
    zone: str | None = None
    member: AlertMember | None = None
    facts: dict[str, Any] = field(default_factory=dict)
