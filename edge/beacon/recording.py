"""Recorded advertisements, one JSON object per line (docs/ble-advertisement.md).

```json
{"time": 1764150000.25, "scanner": "entrance", "address": "5C:3A:1F:00:11:22", "rssi": -67,
 "manufacturer_data": {"76": "0215…"}, "service_data": {"feaa": "00e7…"},
 "service_uuids": ["b006e642-7839-4e01-…"], "tx_power": null}
```
or, instead of the four data fields, `"raw": "0201061aff4c00…"`: the advertising data as a
sniffer shows it. Company ids are decimal or `0x`-prefixed hex; UUIDs 16-bit, 32-bit or full.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from edge.beacon.adstructures import parse_advertising_data
from edge.beacon.advertisements import Advertisement, normalize_uuid
from edge.beacon.config import describe_error
from storesense.errors import ConfigError

# Unix seconds between 1973 and 2200: the range protocol timestamps accept.
_MIN_TIME, _MAX_TIME = 100_000_000.0, 7_258_118_400.0


class RecordingError(ConfigError):
    """A recording line is invalid; the message names the file, line and field."""


class _Record(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    time: float
    scanner: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    rssi: int
    address: str = ""
    manufacturer_data: dict[str, str] = {}
    service_data: dict[str, str] = {}
    service_uuids: list[str] = []
    tx_power: int | None = None
    local_name: str | None = None  # kept by recorders for people reading the file; unused
    raw: str | None = None


_decoder = msgspec.json.Decoder(_Record)
_encoder = msgspec.json.Encoder()


def decode_line(line: bytes | str, where: str = "") -> Advertisement:
    """One recording line as an advertisement; RecordingError says what and `where`."""
    prefix = f"{where}: " if where else ""
    try:
        record = _decoder.decode(line)
    except msgspec.ValidationError as exc:
        raise RecordingError(f"{prefix}{_field_error(str(exc))}") from None
    except msgspec.DecodeError as exc:
        raise RecordingError(f"{prefix}not a JSON object: {exc}") from None
    try:
        return _advertisement(record)
    except ValueError as exc:
        raise RecordingError(f"{prefix}{exc}") from None


def encode_line(advert: Advertisement) -> bytes:
    """An advertisement as one recording line (with the trailing newline)."""
    record: dict[str, Any] = {
        "time": advert.time,
        "scanner": advert.scanner,
        "address": advert.address,
        "rssi": advert.rssi,
        "manufacturer_data": {str(k): v.hex() for k, v in advert.manufacturer_data.items()},
        "service_data": {k: v.hex() for k, v in advert.service_data.items()},
        "service_uuids": list(advert.service_uuids),
        "tx_power": advert.tx_power,
    }
    return _encoder.encode(record) + b"\n"


def _advertisement(record: _Record) -> Advertisement:
    if not _MIN_TIME <= record.time <= _MAX_TIME:
        raise ValueError(f"field `time` must be unix seconds, got {record.time}")
    if record.raw is not None:
        return _from_raw(record)
    manufacturer = {
        _company_id(key): _hex(value, f"manufacturer_data.{key}")
        for key, value in record.manufacturer_data.items()
    }
    service_data = {
        _uuid(key, f"service_data.{key}"): _hex(value, f"service_data.{key}")
        for key, value in record.service_data.items()
    }
    uuids = tuple(_uuid(u, f"service_uuids.{i}") for i, u in enumerate(record.service_uuids))
    return Advertisement(
        time=record.time,
        scanner=record.scanner,
        rssi=record.rssi,
        address=record.address,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=uuids,
        tx_power=record.tx_power,
    )


def _from_raw(record: _Record) -> Advertisement:
    if record.manufacturer_data or record.service_data or record.service_uuids:
        raise ValueError(
            "field `raw` carries the whole advertisement; "
            "drop `manufacturer_data`, `service_data` and `service_uuids`"
        )
    try:
        parsed = parse_advertising_data(_hex(record.raw or "", "raw"))
    except ValueError as exc:
        raise ValueError(f"field `raw`: {exc}") from None
    return Advertisement(
        time=record.time,
        scanner=record.scanner,
        rssi=record.rssi,
        address=record.address,
        manufacturer_data=parsed.manufacturer_data,
        service_data=parsed.service_data,
        service_uuids=tuple(parsed.service_uuids),
        tx_power=parsed.tx_power if record.tx_power is None else record.tx_power,
    )


def _company_id(key: str) -> int:
    text = key.strip().lower()
    try:
        value = int(text, 16) if text.startswith("0x") else int(text, 10)
    except ValueError:
        value = -1
    if not 0 <= value <= 0xFFFF:
        raise ValueError(
            f"field `manufacturer_data`: key {key!r} must be a company id 0-65535 "
            "(decimal, or hex with 0x)"
        )
    return value


def _uuid(text: str, field: str) -> str:
    uuid = normalize_uuid(text)
    if uuid is None:
        raise ValueError(f"field `{field}` must be a 16-bit, 32-bit or 128-bit UUID")
    return uuid


def _hex(text: str, field: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"field `{field}` must be hex digits, got {text[:40]!r}") from None


def _field_error(error: str) -> str:
    """Reuse the config wording, but a recording has fields, not keys."""
    described = describe_error(error)
    return described.replace("unknown key", "unknown field").replace("key `", "field `")
