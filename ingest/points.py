"""Map accepted events to time-series points (pure).

Schema: one measurement per event type. Tags are bounded-cardinality dimensions only
(store, device, and zone/direction/action/door/currency); identifiers that grow without
bound (event id, EPC, beacon, sale id) are fields, never tags.

Timestamps are nanoseconds: event milliseconds plus a stable 0-999,999 ns offset derived
from (device, id). Two distinct events in one millisecond thus stay two points, while the
same event written twice lands on the same point and replaces itself.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection
from typing import Any, Union

import msgspec

from storesense.backends.timeseries.base import MAX_TS_NS, MIN_TS_NS, Point, check_tags
from storesense.backends.timeseries.line_protocol import escape_tag, quote_string
from storesense.protocol.decode import AcceptedEvent
from storesense.protocol.events import BeaconSighting, DoorCrossing, PosSale, RfidTag

MEASUREMENTS = {
    "door.crossing": "door_crossing",
    "rfid.tag": "rfid_tag",
    "beacon.sighting": "beacon_sighting",
    "pos.sale": "pos_sale",
}

# InfluxDB string fields top out at 64 KiB; unknown fields beyond that cannot be kept.
MAX_EXTRA_BYTES = 60_000

_encode = msgspec.json.Encoder().encode
_top_level = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ENVELOPE_FIELDS = {"type", "id", "ts", "store", "device"}
_EVENT_TYPES = (DoorCrossing, RfidTag, BeaconSighting, PosSale)


def _keys_only(kind: type[msgspec.Struct]) -> Any:
    """A struct that takes exactly the fields of `kind`, each as raw JSON: decoding with it
    only checks the keys, several times faster than decoding the object to a dict."""
    return msgspec.defstruct(
        f"{kind.__name__}Keys",
        [(name, msgspec.Raw, msgspec.Raw(b"0")) for name in kind.__struct_fields__],
        tag_field="type",
        tag=kind.__struct_config__.tag,
        forbid_unknown_fields=True,
    )


# Fails (DecodeError) on any field an event type does not know, and on little else.
_known_keys: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
    Union[tuple(_keys_only(kind) for kind in _EVENT_TYPES)]  # noqa: UP007
)

# Points of these types are valid by construction once the few unbounded values below are
# checked (see `_trusted`), so they skip `Point`'s checks. Sales (free-size item lists) and
# events with unknown fields take the checked path.
_TRUSTED_TYPES = (DoorCrossing, RfidTag, BeaconSighting)
_INT64_MAX = 2**63 - 1
_MIN_TS_MS = MIN_TS_NS // 1_000_000 + 1
_MAX_TS_MS = (MAX_TS_NS - 999_999) // 1_000_000
# (store, device) pairs whose tags passed `check_tags` (topics bound them; this is cheap).
_CHECKED_ORIGINS: set[tuple[str, str]] = set()
_ORIGINS_LIMIT = 100_000


def event_point(accepted: AcceptedEvent) -> Point:
    event = accepted.event
    tags: dict[str, str] = {"store": accepted.store, "device": accepted.device}
    fields: dict[str, int | float | str | bool] = {"id": event.id}
    match event:
        case DoorCrossing():
            tags["direction"] = event.direction
            if event.door is not None:
                tags["door"] = event.door
            fields["count"] = event.count
        case RfidTag():
            tags["zone"] = event.zone
            tags["action"] = event.action
            fields["epc"] = event.epc
            if event.antenna is not None:
                fields["antenna"] = event.antenna
            if event.rssi is not None:
                fields["rssi"] = float(event.rssi)
        case BeaconSighting():
            if event.zone is not None:
                tags["zone"] = event.zone
            fields["beacon"] = event.beacon
            fields["rssi"] = event.rssi
            if event.tx_power is not None:
                fields["tx_power"] = event.tx_power
        case PosSale():
            if event.currency is not None:
                tags["currency"] = event.currency
            fields["sale_id"] = event.sale_id
            fields["items"] = _encode(event.items).decode()
            fields["qty"] = sum(item.qty for item in event.items)
            if event.total is not None:
                fields["total"] = float(event.total)
            if event.member is not None:
                fields["member_ref"] = _encode(event.member).decode()
    extra = None
    try:
        _known_keys.decode(accepted.raw)
    except msgspec.DecodeError:  # an unknown field, most likely: find which
        extra = unknown_fields(accepted.raw, event.__struct_fields__)
    if extra and len(extra) > MAX_EXTRA_BYTES:
        raise ValueError(
            f"unknown fields take {len(extra)} bytes of JSON; at most {MAX_EXTRA_BYTES} are kept"
        )
    if extra:
        fields["extra"] = extra
    ts_ms = event.ts_ms
    measurement = MEASUREMENTS[event.type]
    ts_ns = event_ts_ns(ts_ms, accepted.device, event.id)
    if extra is None and _trusted(accepted, ts_ms):
        return Point.trusted(measurement, tags, fields, ts_ns, _line(accepted, ts_ns))
    return Point(measurement=measurement, tags=tags, fields=fields, ts_ns=ts_ns)


def _line(accepted: AcceptedEvent, ts_ns: int) -> str | None:
    """The point's line protocol, written straight from the event: what `encode_point`
    makes of the point built above (tests hold the two equal), for a third of the work.
    Tags in sorted order; hex EPCs and checked beacon forms need no escaping."""
    event = accepted.event
    origin = f"device={escape_tag(accepted.device)},store={escape_tag(accepted.store)}"
    if type(event) is RfidTag:
        fields = f'id={quote_string(event.id)},epc="{event.epc}"'
        if event.antenna is not None:
            fields += f",antenna={event.antenna}i"
        if event.rssi is not None:
            fields += f",rssi={float(event.rssi)!r}"
        tags = f"action={event.action},{origin},zone={escape_tag(event.zone)}"
        return f"rfid_tag,{tags} {fields} {ts_ns}"
    if type(event) is BeaconSighting:
        fields = f'id={quote_string(event.id)},beacon="{event.beacon}",rssi={event.rssi}i'
        if event.tx_power is not None:
            fields += f",tx_power={event.tx_power}i"
        zone = "" if event.zone is None else f",zone={escape_tag(event.zone)}"
        return f"beacon_sighting,{origin}{zone} {fields} {ts_ns}"
    if type(event) is DoorCrossing:
        door = "" if event.door is None else f",door={escape_tag(event.door)}"
        tags = (
            f"device={escape_tag(accepted.device)},direction={event.direction}{door},"
            f"store={escape_tag(accepted.store)}"
        )
        return f"door_crossing,{tags} id={quote_string(event.id)},count={event.count}i {ts_ns}"
    return None


def _trusted(accepted: AcceptedEvent, ts_ms: int) -> bool:
    """Whether the point of this event would pass `Point`'s checks without running them.
    The decoder bounds everything else: names exclude control characters and backslashes,
    literals and hex strings are safe tags and fields, ids are at most 64 characters, JSON
    numbers decode finite, and the field and tag keys are fixed above."""
    event = accepted.event
    if not isinstance(event, _TRUSTED_TYPES) or not _MIN_TS_MS <= ts_ms <= _MAX_TS_MS:
        return False
    if isinstance(event, RfidTag):
        if event.antenna is not None and event.antenna > _INT64_MAX:
            return False
        if event.rssi is not None and not -float("inf") < event.rssi < float("inf"):
            return False
    origin = (accepted.store, accepted.device)
    if origin not in _CHECKED_ORIGINS:
        check_tags({"store": accepted.store, "device": accepted.device}, "event point")
        if len(_CHECKED_ORIGINS) >= _ORIGINS_LIMIT:
            _CHECKED_ORIGINS.clear()
        _CHECKED_ORIGINS.add(origin)
    return True


def event_ts_ns(ts_ms: int, device: str, event_id: str) -> int:
    offset = zlib.crc32(f"{device}\0{event_id}".encode()) % 1_000_000
    return ts_ms * 1_000_000 + offset


def unknown_fields(raw: bytes, known: Collection[str]) -> str | None:
    """JSON of the top-level fields the model does not know (kept for forward
    compatibility), or None when there are none."""
    try:
        top = _top_level.decode(raw)
    except msgspec.DecodeError:
        return None
    if not top.keys() - known - _ENVELOPE_FIELDS:
        return None
    extra = {k: v for k, v in top.items() if k not in known and k not in _ENVELOPE_FIELDS}
    return _encode(extra).decode()
