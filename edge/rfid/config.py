"""The RFID agent's configuration section, validated once; errors name the key.

```yaml
rfid:
  antennas: {1: fitting-room-1, 2: fitting-room-1, 3: fitting-room-2, 4: fitting-room-2}
  defaults: {min_reads: 3, window_seconds: 2, leave_after_seconds: 10}
  zones: {fitting-room-2: {leave_after_seconds: 15, min_rssi: -75}}
  switch_margin_db: 6
  max_late_seconds: 2
  source: {type: llrp, host: 192.168.1.50}
  # or source: {type: replay, path: reads.jsonl, speed: 1}
```

`source` is the agent's local wiring: a live config may leave it out (the current one
stays), but cannot change it while the agent runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from edge.rfid.filter import FilterConfig, ZoneParams

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Dbm = Annotated[float, msgspec.Meta(ge=-127, le=20)]
Seconds = Annotated[float, msgspec.Meta(ge=0.001, le=86_400)]
MAX_ANTENNA = 65_535  # LLRP antenna ids are 16-bit
_T = TypeVar("_T")


class RfidConfigError(ValueError):
    """The agent's config section is invalid; the message names the key."""


class _Section(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    pass


class ZoneDefaults(_Section, frozen=True):
    min_reads: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 3
    window_seconds: Seconds = 2.0
    leave_after_seconds: Seconds = 10.0
    min_rssi: Dbm | None = None


class ZoneOverride(_Section, frozen=True):
    """Per-zone parameters; a key left out takes the value from `defaults`."""

    min_reads: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    window_seconds: Seconds | None = None
    leave_after_seconds: Seconds | None = None
    min_rssi: Dbm | None = None


class ReplaySourceConfig(_Section, tag="replay", tag_field="type", frozen=True):
    """Replay a recorded raw-read log (JSONL or CSV); `speed` 1 is real time, 0 as fast as
    possible; `on_error` "skip" skips bad rows (counted and logged) instead of failing."""

    path: Annotated[str, msgspec.Meta(min_length=1)]
    format: Literal["jsonl", "csv"] | None = None  # None: from the file's extension
    speed: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    on_error: Literal["fail", "skip"] = "fail"


class LlrpSourceConfig(_Section, tag="llrp", tag_field="type", frozen=True):
    """An LLRP reader (Impinj, Zebra, …) through sllurp."""

    host: Annotated[str, msgspec.Meta(min_length=1)]
    port: Annotated[int, msgspec.Meta(ge=1, le=65_535)] = 5084
    antennas: list[Annotated[int, msgspec.Meta(ge=1, le=MAX_ANTENNA)]] | None = None  # None: map
    # The reader's highest power level not above this; None: its maximum.
    tx_power_dbm: Annotated[float, msgspec.Meta(ge=0, le=40)] | None = None
    session: Annotated[int, msgspec.Meta(ge=0, le=3)] = 2
    tag_population: Annotated[int, msgspec.Meta(ge=1, le=65_535)] = 16
    mode_identifier: Annotated[int, msgspec.Meta(ge=0)] | None = None
    report_every_n_tags: Annotated[int, msgspec.Meta(ge=1, le=65_535)] = 1
    report_timeout_seconds: Annotated[float, msgspec.Meta(ge=0, le=60)] = 0.25
    timestamps: Literal["host", "reader"] = "host"
    connect_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 5.0
    reconnect_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    # The reader sends a keepalive this often; three missed and we reconnect.
    keepalive_seconds: Annotated[float, msgspec.Meta(ge=0.1, le=3600)] = 10.0


SourceConfig = ReplaySourceConfig | LlrpSourceConfig


class RfidConfig(_Section, frozen=True):
    antennas: dict[int, Name]
    defaults: ZoneDefaults = ZoneDefaults()
    zones: dict[Name, ZoneOverride] = {}
    switch_margin_db: Annotated[float, msgspec.Meta(ge=0, le=60)] = 6.0
    max_late_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 2.0
    source: SourceConfig | None = None

    def filter_config(self) -> FilterConfig:
        default = _params(self.defaults, ZoneOverride())
        return FilterConfig(
            antennas=dict(self.antennas),
            default=default,
            zones={zone: _params(self.defaults, o) for zone, o in self.zones.items()},
            switch_margin_db=self.switch_margin_db,
            max_late_ms=_ms(self.max_late_seconds),
        )


def parse_config(section: Mapping[str, Any], *, require_source: bool = True) -> RfidConfig:
    """Validate the agent's section; RfidConfigError (a ValueError) names the bad key."""
    if not isinstance(section, Mapping):
        raise RfidConfigError(f"rfid config must be a mapping, got {type(section).__name__}")
    data = dict(section)
    if "antennas" in data:
        data["antennas"] = _antennas(data["antennas"])
    zones = data.pop("zones", {})
    config = _convert(data, RfidConfig, "")
    if not isinstance(zones, Mapping):
        raise RfidConfigError(f"rfid config: key `zones` must be a mapping, got {zones!r}")
    # One zone at a time, so that an error names the zone (msgspec says `zones[...]`).
    overrides = {zone: _convert(o, ZoneOverride, f"zones.{zone}") for zone, o in zones.items()}
    config = msgspec.structs.replace(config, zones=overrides)
    if not config.antennas:
        raise RfidConfigError("rfid config: key `antennas` must map at least one antenna")
    mapped = set(config.antennas.values())
    for zone in config.zones:
        if zone not in mapped:
            raise RfidConfigError(
                f"rfid config: key `zones.{zone}`: no antenna in `antennas` belongs to this zone"
            )
    if require_source and config.source is None:
        raise RfidConfigError(
            "rfid config: key `source` is required, e.g. {type: llrp, host: …} "
            "or {type: replay, path: …}"
        )
    return config


def _convert(data: Any, kind: type[_T], where: str) -> _T:
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        reason = describe_error(str(exc), prefix=where)
        raise RfidConfigError(f"rfid config: {reason}") from None


def _antennas(value: Any) -> Any:
    """JSON and TOML keys are strings: accept "3" for antenna 3, with messages naming it."""
    if not isinstance(value, Mapping):
        return value  # msgspec explains
    out: dict[int, Any] = {}
    for key, zone in value.items():
        antenna = int(key) if isinstance(key, str) and key.isdigit() and key.isascii() else key
        if isinstance(antenna, bool) or not isinstance(antenna, int):
            raise RfidConfigError(
                f"rfid config: key `antennas.{key}`: antenna ids are integers, got {key!r}"
            )
        if not 0 <= antenna <= MAX_ANTENNA:
            raise RfidConfigError(
                f"rfid config: key `antennas.{key}`: antenna id must be 0-{MAX_ANTENNA}"
            )
        if not isinstance(zone, str) or not 1 <= len(zone) <= 64:
            raise RfidConfigError(
                f"rfid config: key `antennas.{key}`: zone must be a name of 1-64 characters, "
                f"got {zone!r}"
            )
        out[antenna] = zone
    return out


def _params(defaults: ZoneDefaults, override: ZoneOverride) -> ZoneParams:
    def pick(name: str) -> Any:
        value = getattr(override, name)
        return getattr(defaults, name) if value is None else value

    return ZoneParams(
        min_reads=pick("min_reads"),
        window_ms=_ms(pick("window_seconds")),
        leave_after_ms=_ms(pick("leave_after_seconds")),
        min_rssi=pick("min_rssi"),
    )


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<key>[^`]+)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<key>[^`]+)`$")


def describe_error(error: str, prefix: str = "") -> str:
    """msgspec's "Expected `int`, got `str` - at `$.a.b`" as "key `a.b`: expected …"; keys
    are taken relative to `prefix`."""
    match = _AT.match(error)
    assert match is not None  # the pattern matches any string
    what, path = match.group("what"), (match.group("path") or "").lstrip(".")
    path = re.sub(r"\[(\d+)\]", r".\1", path)
    path = ".".join(part for part in (prefix, path) if part)
    for pattern, template in ((_UNKNOWN, "unknown key `{}`"), (_MISSING, "key `{}` is required")):
        named = pattern.match(what)
        if named:
            return template.format(f"{path}.{named['key']}" if path else named["key"])
    if not path:
        return what
    return f"key `{path}`: {what[:1].lower()}{what[1:]}"
