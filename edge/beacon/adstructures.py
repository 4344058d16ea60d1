"""Split raw over-the-air advertising data (AD structures) into the fields bleak reports.

Live scanning never needs this (the OS parses the packet); it lets a recording carry the
packet exactly as a sniffer or nRF Connect shows it, and lets tests start from real bytes.
Layout: Bluetooth Core Specification Supplement, Part A; a payload is a run of
`length | type | data[length - 1]` structures, multi-byte numbers little-endian.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Bluetooth SIG base UUID: a 16- or 32-bit UUID `xxxx` stands for this with `xxxx` spliced in.
BASE_UUID_SUFFIX = "-0000-1000-8000-00805f9b34fb"

_UUID16_LISTS = (0x02, 0x03)
_UUID32_LISTS = (0x04, 0x05)
_UUID128_LISTS = (0x06, 0x07)
_NAMES = (0x08, 0x09)
_TX_POWER_LEVEL = 0x0A
_SERVICE_DATA_16 = 0x16
_SERVICE_DATA_32 = 0x20
_SERVICE_DATA_128 = 0x21
_MANUFACTURER_DATA = 0xFF


@dataclass(slots=True)
class AdvertisingData:
    """The parsed fields, named and shaped like bleak's `AdvertisementData`."""

    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    service_data: dict[str, bytes] = field(default_factory=dict)
    service_uuids: list[str] = field(default_factory=list)
    tx_power: int | None = None
    local_name: str | None = None


def uuid_from_le(raw: bytes) -> str:
    """A 2-, 4- or 16-byte little-endian UUID as bleak spells it: full, lowercase, hyphens."""
    text = raw[::-1].hex()
    if len(raw) in (2, 4):
        return f"{text:0>8}{BASE_UUID_SUFFIX}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def parse_advertising_data(payload: bytes) -> AdvertisingData:
    """Parse advertising (and appended scan response) data; ValueError names the bad offset."""
    parsed = AdvertisingData()
    offset = 0
    while offset < len(payload):
        length = payload[offset]
        if length == 0:  # the rest is zero padding
            break
        end = offset + 1 + length
        if end > len(payload):
            raise ValueError(
                f"AD structure at byte {offset} claims {length} bytes, "
                f"only {len(payload) - offset - 1} remain"
            )
        _take(parsed, payload[offset + 1], payload[offset + 2 : end], offset)
        offset = end
    return parsed


def _take(parsed: AdvertisingData, ad_type: int, data: bytes, offset: int) -> None:
    if ad_type in _UUID16_LISTS:
        _add_uuids(parsed, data, 2, offset)
    elif ad_type in _UUID32_LISTS:
        _add_uuids(parsed, data, 4, offset)
    elif ad_type in _UUID128_LISTS:
        _add_uuids(parsed, data, 16, offset)
    elif ad_type in _NAMES:
        parsed.local_name = data.decode("utf-8", errors="replace")
    elif ad_type == _TX_POWER_LEVEL:
        _need(data, 1, "TX power level", offset)
        parsed.tx_power = int.from_bytes(data[:1], "little", signed=True)
    elif ad_type == _SERVICE_DATA_16:
        _add_service_data(parsed, data, 2, offset)
    elif ad_type == _SERVICE_DATA_32:
        _add_service_data(parsed, data, 4, offset)
    elif ad_type == _SERVICE_DATA_128:
        _add_service_data(parsed, data, 16, offset)
    elif ad_type == _MANUFACTURER_DATA:
        _need(data, 2, "manufacturer data", offset)
        parsed.manufacturer_data[int.from_bytes(data[:2], "little")] = bytes(data[2:])
    # Flags, appearance, intervals and the rest carry nothing a beacon scanner needs.


def _add_uuids(parsed: AdvertisingData, data: bytes, size: int, offset: int) -> None:
    if len(data) % size:
        raise ValueError(
            f"AD structure at byte {offset}: a list of {size * 8}-bit UUIDs "
            f"cannot be {len(data)} bytes long"
        )
    for start in range(0, len(data), size):
        uuid = uuid_from_le(data[start : start + size])
        if uuid not in parsed.service_uuids:
            parsed.service_uuids.append(uuid)


def _add_service_data(parsed: AdvertisingData, data: bytes, size: int, offset: int) -> None:
    _need(data, size, f"{size * 8}-bit service data", offset)
    parsed.service_data[uuid_from_le(data[:size])] = bytes(data[size:])


def _need(data: bytes, size: int, what: str, offset: int) -> None:
    if len(data) < size:
        raise ValueError(
            f"AD structure at byte {offset}: {what} needs at least {size} bytes, got {len(data)}"
        )
