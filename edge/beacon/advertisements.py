"""Recognise beacons in BLE advertisements and name them as device protocol v1 does.

Three formats (docs/ble-advertisement.md has the byte layouts):
- iBeacon: Apple manufacturer data (company 0x004C), type 0x02, length 0x15
  -> `ibeacon:{uuid}:{major}:{minor}`;
- Eddystone-UID: service data of UUID 0xFEAA, frame type 0x00
  -> `eddystone-uid:{namespace}:{instance}`;
- the member app: a 128-bit service UUID `b006e642-7839-4e01-{eid}` -> `{eid}`.

Parsers take the plain values bleak's `AdvertisementData` carries. Anything malformed
comes back as an `IgnoreReason` (counted by the caller), never as an exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from edge.beacon.adstructures import BASE_UUID_SUFFIX

APPLE_COMPANY_ID = 0x004C
EDDYSTONE_SERVICE_UUID = "0000feaa" + BASE_UUID_SUFFIX

# The member app's namespace: the first 7 bytes of a random UUID we own. Byte 8 is the
# layout version; the last 8 bytes are the rotating ID (docs/ble-advertisement.md).
APP_UUID_PREFIX = "b006e642-7839-4e"
APP_LAYOUT_V1 = "01"

# Path loss over the first metre at 2.4 GHz. iBeacon calibrates at 1 m, Eddystone and the
# AD "TX Power Level" at 0 m; the Eddystone spec says to convert with 41 dB.
ONE_METRE_LOSS_DB = 41

_IBEACON_LENGTH = 23  # 0x02 0x15 + uuid 16 + major 2 + minor 2 + measured power 1
_EDDYSTONE_UID_LENGTHS = (18, 20)  # frame type, ranging data, 10 + 6 id bytes, [2 RFU]
_EID = re.compile(r"[0-9a-f]{16}")
_HEX32 = re.compile(r"[0-9a-f]{32}")
_SHORT_UUID = re.compile(r"[0-9a-f]{4}|[0-9a-f]{8}")


class IgnoreReason(StrEnum):
    """Why an advertisement (or part of one) produced no sighting; bounded, for counters."""

    NOT_A_BEACON = "not_a_beacon"  # ordinary BLE traffic: headphones, watches, phones
    IBEACON_BAD_LENGTH = "ibeacon_bad_length"
    EDDYSTONE_BAD_LENGTH = "eddystone_bad_length"
    EDDYSTONE_NOT_UID = "eddystone_not_uid"  # URL, TLM, EID frames: valid, not identifiers
    APP_UNKNOWN_VERSION = "app_unknown_version"
    BAD_UUID = "bad_uuid"
    RSSI_OUT_OF_RANGE = "rssi_out_of_range"  # e.g. 127, "not available" in HCI
    STALE_APP_ID = "stale_app_id"  # an ID BlueZ still lists after the app rotated it
    OVER_CAPACITY = "over_capacity"  # more beacons in range than the agent tracks


@dataclass(frozen=True, slots=True)
class Advertisement:
    """One advertisement as a scanner heard it; `time` is unix seconds."""

    time: float
    scanner: str
    rssi: int
    address: str = ""
    manufacturer_data: Mapping[int, bytes] = field(default_factory=dict)
    service_data: Mapping[str, bytes] = field(default_factory=dict)
    service_uuids: tuple[str, ...] = ()
    tx_power: int | None = None  # the AD "TX Power Level", dBm at 0 m


@dataclass(frozen=True, slots=True)
class BeaconId:
    """A recognised beacon: the protocol identifier and its expected RSSI at 1 m."""

    beacon: str
    tx_power: int | None = None


@dataclass(frozen=True, slots=True)
class Identified:
    beacons: tuple[BeaconId, ...]
    problems: tuple[IgnoreReason, ...]


def normalize_uuid(text: str) -> str | None:
    """A UUID as bleak spells it (full, lowercase, hyphens); 16/32-bit forms expand. None if bad."""
    stripped = text.strip().lower()
    if _SHORT_UUID.fullmatch(stripped):
        return f"{stripped:0>8}{BASE_UUID_SUFFIX}"
    compact = stripped.replace("-", "")
    if _HEX32.fullmatch(compact) and (len(stripped) == 32 or _hyphenated(stripped)):
        return _hyphenate(compact)
    return None


def parse_ibeacon(apple_data: bytes) -> BeaconId | IgnoreReason | None:
    """Apple manufacturer data (company id already stripped); None when it is not an iBeacon."""
    if apple_data[:1] != b"\x02":
        return None  # other Apple messages (AirDrop, Find My, continuity) are not beacons
    if len(apple_data) < _IBEACON_LENGTH or apple_data[1] != 0x15:
        return IgnoreReason.IBEACON_BAD_LENGTH
    uuid = _hyphenate(apple_data[2:18].hex())
    major = int.from_bytes(apple_data[18:20], "big")
    minor = int.from_bytes(apple_data[20:22], "big")
    measured_power = int.from_bytes(apple_data[22:23], "big", signed=True)  # at 1 m
    return BeaconId(f"ibeacon:{uuid}:{major}:{minor}", _dbm(measured_power))


def parse_eddystone_uid(frame: bytes) -> BeaconId | IgnoreReason:
    """Service data of UUID 0xFEAA (the UUID already stripped)."""
    if not frame:
        return IgnoreReason.EDDYSTONE_BAD_LENGTH
    if frame[0] != 0x00:
        return IgnoreReason.EDDYSTONE_NOT_UID
    if len(frame) not in _EDDYSTONE_UID_LENGTHS:
        return IgnoreReason.EDDYSTONE_BAD_LENGTH
    at_zero_metres = int.from_bytes(frame[1:2], "big", signed=True)
    beacon = f"eddystone-uid:{frame[2:12].hex()}:{frame[12:18].hex()}"
    return BeaconId(beacon, _dbm(at_zero_metres - ONE_METRE_LOSS_DB))


def parse_app_uuid(uuid: str, tx_power: int | None = None) -> BeaconId | IgnoreReason | None:
    """A normalized 128-bit service UUID; None when it is not in the app's namespace."""
    if not uuid.startswith(APP_UUID_PREFIX):
        return None
    if uuid[16:18] != APP_LAYOUT_V1:
        return IgnoreReason.APP_UNKNOWN_VERSION
    eid = uuid[19:23] + uuid[24:]
    expected = None if tx_power is None else _dbm(tx_power - ONE_METRE_LOSS_DB)
    return BeaconId(eid, expected)


def app_service_uuid(eid: str) -> str:
    """The service UUID the member app advertises while its rotating ID is `eid`."""
    if not _EID.fullmatch(eid):
        raise ValueError(f"eid must be 16 lowercase hex digits, got {eid!r}")
    return f"{APP_UUID_PREFIX}{APP_LAYOUT_V1}-{eid[:4]}-{eid[4:]}"


def is_app_id(beacon: str) -> bool:
    """True for a member app's rotating ID (the other forms all contain a colon)."""
    return ":" not in beacon


def identify(
    manufacturer_data: Mapping[int, bytes],
    service_data: Mapping[str, bytes],
    service_uuids: tuple[str, ...] | list[str],
    tx_power: int | None = None,
) -> Identified:
    """Every beacon an advertisement carries, and why any part that looked like one was not."""
    found: list[BeaconId | IgnoreReason | None] = []
    apple = manufacturer_data.get(APPLE_COMPANY_ID)
    if apple is not None:
        found.append(parse_ibeacon(apple))
    for key, frame in service_data.items():
        uuid = normalize_uuid(key)
        if uuid is None:
            found.append(IgnoreReason.BAD_UUID)
        elif uuid == EDDYSTONE_SERVICE_UUID:
            found.append(parse_eddystone_uid(frame))
    for text in service_uuids:
        uuid = normalize_uuid(text)
        found.append(IgnoreReason.BAD_UUID if uuid is None else parse_app_uuid(uuid, tx_power))

    beacons: dict[str, BeaconId] = {}
    problems: list[IgnoreReason] = []
    for outcome in found:
        if isinstance(outcome, BeaconId):
            beacons.setdefault(outcome.beacon, outcome)
        elif outcome is not None:
            problems.append(outcome)
    return Identified(tuple(beacons.values()), tuple(problems))


def identify_advertisement(advert: Advertisement) -> Identified:
    return identify(
        advert.manufacturer_data, advert.service_data, advert.service_uuids, advert.tx_power
    )


def _dbm(value: int) -> int | None:
    """A calibrated power as the protocol allows it (-127..20), or None when out of range."""
    return value if -127 <= value <= 20 else None


def _hyphenate(compact: str) -> str:
    return f"{compact[:8]}-{compact[8:12]}-{compact[12:16]}-{compact[16:20]}-{compact[20:]}"


def _hyphenated(text: str) -> bool:
    return [len(part) for part in text.split("-")] == [8, 4, 4, 4, 12]
