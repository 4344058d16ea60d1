"""Rule parameters per store: defaults and per-store overrides from a YAML file, further
overridable per store over the API. Validated with pydantic; every error names the file,
the store, the rule and the field.

```yaml
defaults:                 # every store
  member_arrived: {tiers: [gold, platinum]}
  fitting_room_unattended: {after_min: 8}
stores:
  flagship:               # only what differs
    traffic_surge: {factor: 1.5, staff_on_shift: 4}
custom:                   # declarative rules (rules/custom.py)
  - id: busy-fitting-room
    ...
```
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rules.custom import CustomRule
from storesense.errors import ConfigError
from storesense.protocol.identifiers import IDENTIFIER_PATTERN, is_identifier
from storesense.settings import deep_merge, known_timezone


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True


class MemberArrivedRule(_Rule):
    tiers: list[str] | None = Field(default=None, description="only these tiers; unset: all")
    max_age_s: int = Field(default=300, ge=1, description="older sightings are history")


class MemberReturningRule(_Rule):
    absent_days: int = Field(default=60, ge=1)
    tiers: list[str] | None = None
    max_age_s: int = Field(default=300, ge=1)


class FittingRoomUnattendedRule(_Rule):
    after_min: float = Field(default=8.0, gt=0, le=240)


class FittingRoomHelpRule(_Rule):
    min_sizes: int = Field(default=2, ge=2, description="sizes of one style: size help")
    min_items: int = Field(default=4, ge=2, description="garments in one session: styling")


class SkuTriedNotBoughtRule(_Rule):
    min_tries: int = Field(default=5, ge=2)
    # A try-on counts once this long has passed without a sale: time to reach the till.
    grace_min: float = Field(default=30.0, ge=0, le=24 * 60)


class RestockRule(_Rule):
    pass


class TrafficSurgeRule(_Rule):
    window_min: int = Field(default=10, ge=1, le=60)
    factor: float = Field(default=2.0, gt=1.0, description="entries above usual x factor")
    min_entries: int = Field(default=8, ge=1)
    min_history_days: int = Field(default=2, ge=1, description="same hour+weekday seen")
    baseline_per_window: float | None = Field(
        default=None, gt=0, description="usual entries per window until history exists"
    )
    entries_per_staff: float = Field(default=6.0, gt=0)
    staff_on_shift: int | None = Field(
        default=None,
        ge=0,
        description="unset: those on shift now, as alerts are routed (the staff registry's "
        "shifts in the store, else settings `alerts.stores.<store>.shifts`), else staff seen "
        "by badge or beacon in the last 4 hours",
    )


class DeviceSilentRule(_Rule):
    offline_after_s: int = Field(default=120, ge=0)
    silent_after_min: dict[str, float] = Field(
        default_factory=lambda: {"door": 30.0, "beacon": 30.0},
        description="by device kind; kinds not listed are never silent",
    )


class RuleParams(BaseModel):
    """Every built-in rule's parameters for one store."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    member_arrived: MemberArrivedRule = MemberArrivedRule()
    member_returning: MemberReturningRule = MemberReturningRule()
    fitting_room_unattended: FittingRoomUnattendedRule = FittingRoomUnattendedRule()
    fitting_room_help: FittingRoomHelpRule = FittingRoomHelpRule()
    sku_tried_not_bought: SkuTriedNotBoughtRule = SkuTriedNotBoughtRule()
    restock: RestockRule = RestockRule()
    traffic_surge: TrafficSurgeRule = TrafficSurgeRule()
    device_silent: DeviceSilentRule = DeviceSilentRule()
    timezone: str = Field(
        default="UTC",
        description="for hour and weekday (traffic), day; unset: the store's timezone (the "
        "registry's store, else settings `stores.<store>.timezone`)",
    )
    max_age_s: int = Field(
        default=600,
        ge=1,
        description="evaluating events older than this (history, an outbox "
        "catching up after an outage) keeps the state but raises nothing",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return known_timezone(value)


RULE_KEYS = tuple(name for name in RuleParams.model_fields if name not in ("timezone", "max_age_s"))


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    defaults: dict[str, Any] = Field(default_factory=dict)
    stores: dict[str, dict[str, Any]] = Field(default_factory=dict)
    custom: list[CustomRule] = Field(default_factory=list)


class RulesConfig:
    """The loaded file: parameters for any store, and the custom rules."""

    def __init__(
        self,
        defaults: Mapping[str, Any] | None = None,
        stores: Mapping[str, Mapping[str, Any]] | None = None,
        custom: list[CustomRule] | None = None,
        source: str = "rules",
    ) -> None:
        self.source = source
        self._defaults = dict(defaults or {})
        self._stores = {store: dict(raw) for store, raw in (stores or {}).items()}
        self.custom = list(custom or [])
        self._cache: dict[str, RuleParams] = {}
        # Validate everything now: a bad file stops start-up, not the first event.
        build_params(self._defaults, source=f"{source}, defaults")
        for store in self._stores:
            if not is_identifier(store):
                raise ConfigError(f"{source}: store `{store}` must match {IDENTIFIER_PATTERN}")
            self.params_for(store)

    @classmethod
    def load(cls, path: Path | str | None) -> RulesConfig:
        """Read and validate a rules file; None (no file): built-in defaults."""
        if path is None:
            return cls()
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"rules file {path} does not exist") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"rules file {path} is not valid YAML: {exc}") from None
        return cls.parse(raw or {}, source=f"rules file {path}")

    @classmethod
    def parse(cls, raw: object, source: str = "rules") -> RulesConfig:
        try:
            parsed = RulesFile.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(describe(exc, source)) from None
        ids = [rule.id for rule in parsed.custom]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ConfigError(f"{source}: custom rule ids must be unique: {duplicates}")
        return cls(parsed.defaults, parsed.stores, parsed.custom, source)

    def params_for(self, store: str, overrides: Mapping[str, Any] | None = None) -> RuleParams:
        """Defaults < the file's store section < `overrides` (from the API)."""
        if not overrides and store in self._cache:
            return self._cache[store]
        raw = deep_merge(self._defaults, self._stores.get(store, {}))
        params = build_params(raw, source=f"{self.source}, store `{store}`")
        if not overrides:
            self._cache[store] = params
            return params
        return build_params(deep_merge(raw, overrides), source=f"store `{store}`, overrides")

    def check_overrides(self, store: str, overrides: Mapping[str, Any]) -> RuleParams:
        """The store's parameters with `overrides`; raises pydantic's ValidationError (with
        the field's path, e.g. `traffic_surge.factor`) when they are not valid."""
        raw = deep_merge(self._defaults, self._stores.get(store, {}))
        return RuleParams.model_validate(deep_merge(raw, overrides))

    def custom_for(self, store: str) -> list[CustomRule]:
        return [rule for rule in self.custom if rule.stores is None or store in rule.stores]


def store_timezone(params: RuleParams, timezone: str) -> RuleParams:
    """`params` in the store's timezone (the registry's, else settings
    `stores.<store>.timezone`, which quiet hours and shifts use too), unless the rules file or
    the overrides name one."""
    if "timezone" in params.model_fields_set or params.timezone == timezone:
        return params
    return params.model_copy(update={"timezone": timezone})


def build_params(raw: Mapping[str, Any], source: str) -> RuleParams:
    try:
        return RuleParams.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe(exc, source)) from None


def describe(exc: ValidationError, source: str) -> str:
    """One line per problem: where (store, rule, field), what is wrong, what was given."""
    lines = []
    for error in exc.errors():
        lines.append(f"{source}, {_where(error['loc'])}: {error['msg']}{_given(error)}")
    return "\n".join(lines)


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Errors for an API response: the dotted field and the message."""
    return [
        {"field": ".".join(str(p) for p in error["loc"]), "message": error["msg"] + _given(error)}
        for error in exc.errors()
    ]


def _where(loc: tuple[int | str, ...]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("defaults", "stores") and len(parts) > 1:
        section = parts.pop(0)
        prefix = "defaults" if section == "defaults" else f"store `{parts.pop(0)}`"
        return f"{prefix}, {_rule_field(parts)}" if parts else prefix
    if parts and parts[0] == "custom" and len(parts) > 1:
        return f"custom rule #{int(parts[1]) + 1}, field `{'.'.join(map(str, parts[2:]))}`"
    return _rule_field(parts)


def _rule_field(parts: list[int | str]) -> str:
    if len(parts) >= 2 and parts[0] in RULE_KEYS:
        return f"rule `{parts[0]}`, field `{'.'.join(map(str, parts[1:]))}`"
    if parts and parts[0] in RULE_KEYS:
        return f"rule `{parts[0]}`"
    return f"field `{'.'.join(map(str, parts))}`"


def _given(error: Any) -> str:
    given = error.get("input")
    if isinstance(given, dict | list) or error.get("type") == "missing":
        return ""
    return f" (got {given!r})"
