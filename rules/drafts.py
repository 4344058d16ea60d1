"""What a rule returns: the facts of an alert, before texts, id and delivery."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from storesense.protocol.alerts import AlertMember

Audience = Literal["assistant", "manager"]


@dataclass(frozen=True, slots=True)
class AlertDraft:
    type: str
    store: str
    ts_ms: int
    zone: str | None = None
    member: AlertMember | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    # Rule name; empty means the same as `type`.
    rule: str = ""
    # The situation: `thing@start` (a fitting room and its session's start, a member and
    # their visit's start, a device and its outage's start...). One alert per (store, rule,
    # subject); the cooldown is per thing (`rules/situations.py`). Empty: the member id,
    # else the zone, else "-", at `ts_ms` (every draft a situation of its own).
    subject: str = ""
    # Who should act: shop assistants on the floor, or the store manager.
    audience: Audience = "assistant"

    @property
    def rule_name(self) -> str:
        return self.rule or self.type

    @property
    def subject_key(self) -> str:
        if self.subject:
            return self.subject
        thing = self.member.id if self.member is not None else self.zone or "-"
        return f"{thing}@{self.ts_ms}"
