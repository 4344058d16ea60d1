"""The beacon agent's configuration section, validated once; errors name the key.

```yaml
beacon:
  scanners: {entrance: entrance, fitting: fitting-rooms}   # scanner -> zone
  zones: {fitting-rooms: {threshold: -70}}                 # entry RSSI per zone, dBm
  default_threshold: -80
  hysteresis_db: 4
  kalman: {process_noise: 1.0, measurement_noise: 16.0}
  throttle_seconds: 10
  lost_after_seconds: 20
  settle_seconds: 2        # how long a new beacon may wait for a zone
  source: {type: bleak, adapters: {entrance: hci0, fitting: hci1}, scanning_mode: active}
  # or source: {type: replay, path: adverts.jsonl, speed: 1}
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import msgspec

from edge.beacon.pipeline import PipelineSettings
from edge.beacon.smoothing import KalmanParams
from edge.beacon.zones import ZoneMap

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Dbm = Annotated[float, msgspec.Meta(ge=-127, le=20)]
Seconds = Annotated[float, msgspec.Meta(gt=0)]


class KalmanConfig(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    process_noise: Annotated[float, msgspec.Meta(ge=0)] = 1.0  # dB² per second
    measurement_noise: Annotated[float, msgspec.Meta(gt=0)] = 16.0  # dB²


class ZoneConfig(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    threshold: Dbm


def _one_local_adapter() -> dict[str, str]:
    return {"local": ""}


class BleakSourceConfig(
    msgspec.Struct, tag="bleak", tag_field="type", kw_only=True, frozen=True,
    forbid_unknown_fields=True,
):  # fmt: skip
    """Scan with the local radio(s): scanner name -> BlueZ adapter ("" = the default one)."""

    adapters: dict[Name, str] = msgspec.field(default_factory=_one_local_adapter)
    scanning_mode: Literal["active", "passive"] = "active"


class ReplaySourceConfig(
    msgspec.Struct, tag="replay", tag_field="type", kw_only=True, frozen=True,
    forbid_unknown_fields=True,
):  # fmt: skip
    """Replay a JSONL recording; `speed` 1 is real time, 0 is as fast as possible."""

    path: Annotated[str, msgspec.Meta(min_length=1)]
    speed: Annotated[float, msgspec.Meta(ge=0)] = 0.0


SourceConfig = BleakSourceConfig | ReplaySourceConfig


class BeaconConfig(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    scanners: dict[Name, Name] = {}
    zones: dict[Name, ZoneConfig] = {}
    default_threshold: Dbm = -80.0
    hysteresis_db: Annotated[float, msgspec.Meta(ge=0, le=60)] = 4.0
    kalman: KalmanConfig = KalmanConfig()
    throttle_seconds: Seconds = 10.0
    lost_after_seconds: Seconds = 20.0
    max_beacons: Annotated[int, msgspec.Meta(ge=1)] = 10_000
    settle_seconds: Annotated[float, msgspec.Meta(ge=0)] = 2.0
    source: SourceConfig = BleakSourceConfig()

    def pipeline_settings(self) -> PipelineSettings:
        zones = ZoneMap(
            scanners=dict(self.scanners),
            thresholds={zone: z.threshold for zone, z in self.zones.items()},
            default_threshold=self.default_threshold,
            hysteresis_db=self.hysteresis_db,
        )
        kalman = KalmanParams(self.kalman.process_noise, self.kalman.measurement_noise)
        return PipelineSettings(
            zones=zones,
            kalman=kalman,
            throttle_seconds=self.throttle_seconds,
            lost_after_seconds=self.lost_after_seconds,
            max_beacons=self.max_beacons,
            settle_seconds=self.settle_seconds,
        )


def parse_config(section: Mapping[str, Any]) -> BeaconConfig:
    """Validate the agent's section; ValueError names the bad key."""
    try:
        return msgspec.convert(section, BeaconConfig)
    except msgspec.ValidationError as exc:
        error = _name_entries(section, str(exc))
        raise ValueError(f"beacon config: {describe_error(error)}") from None


_ENTRY = re.compile(r"`\$(?P<path>(?:\.[^`.\[]+)+)\[\.\.\.\]")


def _name_entries(section: Mapping[str, Any], error: str) -> str:
    """msgspec writes "a value in this mapping" as `[...]`; find which one by validating the
    mapping's entries one at a time, so the message can name it (`zones.fitting.threshold`)."""
    match = _ENTRY.search(error)
    keys = match["path"].lstrip(".").split(".") if match else []
    mapping: Any = section
    for key in keys:
        mapping = mapping.get(key) if isinstance(mapping, Mapping) else None
    if match is None or not isinstance(mapping, Mapping):
        return error
    for name, value in mapping.items():
        try:
            msgspec.convert(_replace(section, keys, {name: value}), BeaconConfig)
        except msgspec.ValidationError as exc:
            if str(exc) == error:
                return error.replace(match[0], f"`${match['path']}.{name}", 1)
    return error


def _replace(section: Mapping[str, Any], keys: list[str], value: Any) -> dict[str, Any]:
    copy = dict(section)
    copy[keys[0]] = value if len(keys) == 1 else _replace(section[keys[0]], keys[1:], value)
    return copy


_AT = re.compile(r"^(?P<what>.*?)(?: - at (?P<key>`key` in )?`\$(?P<path>[^`]*)`)?$", re.DOTALL)
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<key>[^`]+)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<key>[^`]+)`$")


def describe_error(error: str) -> str:
    """msgspec's "Expected `int`, got `str` - at `$.a.b`" as "key `a.b`: expected …"."""
    match = _AT.match(error)
    assert match is not None  # the pattern matches any string
    what, path = match.group("what"), (match.group("path") or "").lstrip(".")
    path = re.sub(r"\[(\d+)\]", r".\1", path)
    for pattern, template in ((_UNKNOWN, "unknown key `{}`"), (_MISSING, "key `{}` is required")):
        named = pattern.match(what)
        if named:
            return template.format(f"{path}.{named['key']}" if path else named["key"])
    if not path:
        return what
    where = f"a name in `{path}`" if match.group("key") else f"key `{path}`"
    return f"{where}: {what[:1].lower()}{what[1:]}"
