"""Custom rules declared in YAML: conditions on an event (type, fields, zone, member tier)
and optionally a count over a time window, and texts from `string.Template`s whose
placeholders are checked against a fixed list. No code from the file is ever run.

```yaml
- id: busy-fitting-room
  when:
    type: rfid.tag
    zone: "fitting-room-*"          # glob
    fields: [{field: action, op: eq, value: enter}]
  count: {at_least: 3, within_min: 10, per: zone}
  title: {en: "Busy $zone", zh-CN: "$zone 试衣繁忙"}
  body: {en: "$count garments in $within_min min", zh-CN: "$within_min 分钟内 $count 件"}
```
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from string import Template
from typing import Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rules.drafts import AlertDraft, Audience
from storesense.protocol.alerts import AlertMember
from storesense.registry.members import Member

PLACEHOLDERS = frozenset(
    {"rule", "store", "device", "zone", "type", "member_name", "member_tier", "count",
     "within_min", "epc", "beacon", "direction"}
)  # fmt: skip
Op = Literal["eq", "ne", "in", "gt", "lt", "contains"]


class FieldCondition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
    op: Op = "eq"
    value: Any

    @model_validator(mode="after")
    def _check_value(self) -> FieldCondition:
        if self.op == "in" and not isinstance(self.value, list):
            raise ValueError(f"`in` needs a list value, got {self.value!r}")
        if self.op in ("gt", "lt") and (
            isinstance(self.value, bool) or not isinstance(self.value, int | float)
        ):
            raise ValueError(f"`{self.op}` needs a number, got {self.value!r}")
        return self


class When(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["door.crossing", "rfid.tag", "beacon.sighting", "pos.sale"] | None = None
    zone: str | None = Field(default=None, description="glob, e.g. fitting-room-*")
    tiers: list[str] | None = Field(default=None, description="needs a recognised member")
    fields: list[FieldCondition] = Field(default_factory=list)


class Count(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at_least: int = Field(ge=2, le=10_000)
    within_min: float = Field(gt=0, le=24 * 60)
    per: Literal["zone", "device", "member", "store"] = "zone"


class Texts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    en: str = Field(min_length=1, max_length=500)
    zh_cn: str = Field(alias="zh-CN", min_length=1, max_length=500)

    @field_validator("en", "zh_cn")
    @classmethod
    def _placeholders(cls, text: str) -> str:
        template = Template(text)
        if not template.is_valid():
            raise ValueError(f"bad placeholder syntax in {text!r} (write $$ for a dollar sign)")
        unknown = sorted(set(template.get_identifiers()) - PLACEHOLDERS)
        if unknown:
            raise ValueError(f"unknown placeholders {unknown}; allowed: {sorted(PLACEHOLDERS)}")
        return text


class CustomRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    enabled: bool = True
    stores: list[str] | None = Field(default=None, description="unset: every store")
    audience: Audience = "assistant"
    when: When
    count: Count | None = None
    title: Texts
    body: Texts

    @model_validator(mode="after")
    def _member_for_per_member(self) -> CustomRule:
        if self.count is not None and self.count.per == "member" and self.when.tiers is None:
            raise ValueError("count per member needs `when.tiers` (only members can be counted)")
        return self

    @property
    def rule_name(self) -> str:
        return f"custom.{self.id}"


@dataclass(frozen=True, slots=True)
class EventFacts:
    """One accepted event as custom rules see it (the device's JSON, plus who it was)."""

    store: str
    device: str
    type: str
    ts_ms: int
    zone: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    member: Member | None = None  # a consenting member the event resolved to


def matches(rule: CustomRule, event: EventFacts) -> bool:
    """Whether one event meets the rule's conditions."""
    when = rule.when
    if not rule.enabled or (when.type is not None and when.type != event.type):
        return False
    if when.zone is not None and (
        event.zone is None or not fnmatch.fnmatchcase(event.zone, when.zone)
    ):
        return False
    if when.tiers is not None:
        member = event.member
        if member is None or not member.consent or (member.tier or "") not in when.tiers:
            return False
    return all(
        _holds(condition, _lookup(event.fields, condition.field)) for condition in when.fields
    )


def group_of(rule: CustomRule, event: EventFacts) -> str:
    """What one count is about (a zone, a device, a member, the store)."""
    per = rule.count.per if rule.count is not None else "zone"
    if per == "member":
        return event.member.member_id if event.member else "-"
    if per == "device":
        return event.device
    if per == "zone":
        return event.zone or "-"
    return event.store


class Window(msgspec.Struct, kw_only=True):
    """Matching events of one rule and group within the window (event time)."""

    times: list[int] = msgspec.field(default_factory=list)


def count_in_window(window: Window, ts_ms: int, count: Count) -> tuple[int, int] | None:
    """Add one matching event (mutates `window`); when the window holds `at_least`, return
    (first ts, count) and start over, so one burst is one situation."""
    within_ms = int(count.within_min * 60_000)
    window.times.append(ts_ms)
    window.times.sort()
    window.times = [t for t in window.times if t > ts_ms - within_ms and t <= ts_ms + within_ms]
    recent = [t for t in window.times if t <= ts_ms]
    if len(recent) < count.at_least:
        return None
    window.times = [t for t in window.times if t > ts_ms]
    return recent[0], len(recent)


def custom_draft(
    rule: CustomRule, event: EventFacts, started_ms: int | None = None, counted: int = 1
) -> AlertDraft:
    """The alert of a rule that fired on `event` (after `counted` matches since `started_ms`)."""
    member = event.member
    values = {
        "rule": rule.id,
        "store": event.store,
        "device": event.device,
        "zone": event.zone or "",
        "type": event.type,
        "member_name": member.name if member else "",
        "member_tier": (member.tier or "") if member else "",
        "count": str(counted),
        "within_min": f"{rule.count.within_min:g}" if rule.count else "",
        "epc": str(event.fields.get("epc", "")),
        "beacon": str(event.fields.get("beacon", "")),
        "direction": str(event.fields.get("direction", "")),
    }
    texts = {
        "en": [
            Template(rule.title.en).substitute(values),
            Template(rule.body.en).substitute(values),
        ],
        "zh-CN": [
            Template(rule.title.zh_cn).substitute(values),
            Template(rule.body.zh_cn).substitute(values),
        ],
    }
    start = started_ms if started_ms is not None else event.ts_ms
    return AlertDraft(
        type=rule.rule_name,
        store=event.store,
        ts_ms=event.ts_ms,
        zone=event.zone,
        member=(
            AlertMember(id=member.member_id, name=member.name, tier=member.tier)
            if member is not None and member.consent
            else None
        ),
        facts={"texts": texts, "count": counted, "window_start_ts": start},
        rule=rule.rule_name,
        subject=f"{group_of(rule, event)}@{start}",
        audience=rule.audience,
    )


def _lookup(fields: dict[str, Any], path: str) -> Any:
    value: Any = fields
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


_MISSING = object()


def _holds(condition: FieldCondition, actual: Any) -> bool:
    expected = condition.value
    if actual is _MISSING:
        return condition.op == "ne"
    if condition.op == "eq":
        return bool(actual == expected)
    if condition.op == "ne":
        return bool(actual != expected)
    if condition.op == "in":
        return bool(actual in expected)
    if condition.op == "contains":
        if isinstance(actual, str):
            return isinstance(expected, str) and expected in actual
        if isinstance(actual, list):
            return bool(expected in actual) or any(
                isinstance(item, dict) and expected in item.values() for item in actual
            )
        return False
    if isinstance(actual, bool) or not isinstance(actual, int | float):
        return False
    limit = float(expected)
    return actual > limit if condition.op == "gt" else actual < limit
