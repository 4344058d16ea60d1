"""Typed event models of device protocol v1, one tagged union decoded in one pass.

Edge agents and simulators build these and encode them; ingest decodes them with
`storesense.protocol.decode`. Unknown extra fields are ignored by the models (the raw
JSON of each event is kept by the decoder, so nothing a device sent is lost).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec

EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
EpochMillis = Annotated[int, msgspec.Meta(ge=0)]
# Zone, door, sale and member names: no control characters or backslashes, which neither
# InfluxDB tags nor logs carry safely.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f\\]+$")]
HexEpc = Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Fa-f]{24,64}$")]
Gtin14 = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{14}$")]

# An integer below this is almost surely epoch *seconds* (it would be before 1973 in ms).
_MIN_PLAUSIBLE_MS = 100_000_000_000
_MAX_PLAUSIBLE_MS = 7_258_118_400_000  # year 2200

BEACON_PATTERN = _BEACON = re.compile(
    r"(?P<eid>[0-9a-f]{16})"
    r"|ibeacon:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r":(?P<major>[0-9]{1,5}):(?P<minor>[0-9]{1,5})"
    r"|eddystone-uid:[0-9a-f]{20}:[0-9a-f]{12}"
)


class Event(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    """Envelope fields shared by every event type."""

    id: EventId
    ts: EpochMillis | datetime
    # Optional and redundant with the topic; when present they must match it.
    store: str | None = None
    device: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.ts, datetime):
            if self.ts.tzinfo is None:
                raise ValueError("field `ts` must carry a UTC offset, e.g. 2026-11-26T10:00:00Z")
        elif not _MIN_PLAUSIBLE_MS <= self.ts <= _MAX_PLAUSIBLE_MS:
            hint = " (it looks like seconds)" if self.ts < _MIN_PLAUSIBLE_MS else ""
            raise ValueError(f"field `ts` must be epoch milliseconds, got {self.ts}{hint}")

    @property
    def ts_ms(self) -> int:
        """Event time as integer epoch milliseconds."""
        if isinstance(self.ts, datetime):
            return int(self.ts.timestamp() * 1000)
        return self.ts

    @property
    def type(self) -> str:
        return str(self.__struct_config__.tag)


class DoorCrossing(Event, tag="door.crossing"):
    direction: Literal["in", "out"]
    count: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1
    door: Name | None = None


class RfidTag(Event, tag="rfid.tag"):
    epc: HexEpc
    action: Literal["enter", "leave"]
    zone: Name
    antenna: Annotated[int, msgspec.Meta(ge=0)] | None = None
    rssi: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        # EPCs compare case-insensitively; keep one spelling everywhere downstream.
        epc = self.epc
        lower = epc.lower()
        if lower != epc:  # most readers send lowercase already: no copy to set then
            msgspec.structs.force_setattr(self, "epc", lower)


class BeaconSighting(Event, tag="beacon.sighting"):
    beacon: str
    rssi: Annotated[int, msgspec.Meta(ge=-127, le=20)]
    zone: Name | None = None
    tx_power: Annotated[int, msgspec.Meta(ge=-127, le=20)] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        match = _BEACON.fullmatch(self.beacon)
        if match is None:
            raise ValueError(
                "field `beacon` must be 16 lowercase hex digits (member app ID), "
                "ibeacon:{uuid}:{major}:{minor} or eddystone-uid:{namespace}:{instance}, "
                f"got {self.beacon[:100]!r}"
            )
        if match.lastgroup == "eid":  # a member app's ID, the common case: nothing more
            return
        for part in ("major", "minor"):
            value = match.group(part)
            if value is not None and int(value) > 65535:
                raise ValueError(f"field `beacon`: iBeacon {part} must be 0-65535, got {value}")

    @property
    def is_app_id(self) -> bool:
        """True for a member app's rotating ID (16 hex digits)."""
        return len(self.beacon) == 16 and ":" not in self.beacon


class SaleItem(msgspec.Struct, kw_only=True, omit_defaults=True):
    qty: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    price: Annotated[float, msgspec.Meta(ge=0)]
    epc: HexEpc | None = None
    gtin: Gtin14 | None = None

    def __post_init__(self) -> None:
        if self.epc is None and self.gtin is None:
            raise ValueError("sale item needs an `epc` or a `gtin`")
        if self.epc is not None:
            msgspec.structs.force_setattr(self, "epc", self.epc.lower())


class MemberRef(msgspec.Struct, kw_only=True, omit_defaults=True):
    """How a sale names its member: exactly one of phone, card (EPC) or id."""

    phone: Annotated[str, msgspec.Meta(min_length=3, max_length=32)] | None = None
    card: HexEpc | None = None
    id: Name | None = None

    def __post_init__(self) -> None:
        given = [name for name in ("phone", "card", "id") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("field `member` must have exactly one of `phone`, `card`, `id`")
        if self.card is not None:
            msgspec.structs.force_setattr(self, "card", self.card.lower())


class PosSale(Event, tag="pos.sale"):
    sale_id: Name
    items: Annotated[list[SaleItem], msgspec.Meta(min_length=1, max_length=1000)]
    member: MemberRef | None = None
    total: float | None = None
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")] | None = None


AnyEvent = DoorCrossing | RfidTag | BeaconSighting | PosSale
EVENT_TYPES: tuple[str, ...] = ("door.crossing", "rfid.tag", "beacon.sighting", "pos.sale")


class DeviceStatus(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Retained `status` message, also the device's MQTT last will."""

    state: Literal["online", "offline"]
    ts: EpochMillis | datetime
    kind: Name | None = None
    version: Annotated[str, msgspec.Meta(max_length=64)] | None = None

    @property
    def ts_ms(self) -> int:
        if isinstance(self.ts, datetime):
            stamp = self.ts if self.ts.tzinfo else self.ts.replace(tzinfo=UTC)
            return int(stamp.timestamp() * 1000)
        return self.ts


_encoder = msgspec.json.Encoder()


def encode_events(events: list[AnyEvent] | AnyEvent) -> bytes:
    """Encode one event or a batch as the JSON payload of an `events` message."""
    return _encoder.encode(events)


def encode_status(status: DeviceStatus) -> bytes:
    return _encoder.encode(status)
