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

import msgspec

from storesense.backends.timeseries.base import Point
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
    extra = unknown_fields(accepted.raw, event.__struct_fields__)
    if extra and len(extra) > MAX_EXTRA_BYTES:
        raise ValueError(
            f"unknown fields take {len(extra)} bytes of JSON; at most {MAX_EXTRA_BYTES} are kept"
        )
    if extra:
        fields["extra"] = extra
    return Point(
        measurement=MEASUREMENTS[event.type],
        tags=tags,
        fields=fields,
        ts_ns=event_ts_ns(event.ts_ms, accepted.device, event.id),
    )


def event_ts_ns(ts_ms: int, device: str, event_id: str) -> int:
    offset = zlib.crc32(f"{device}\0{event_id}".encode()) % 1_000_000
    return ts_ms * 1_000_000 + offset


def unknown_fields(raw: bytes, known: tuple[str, ...]) -> str | None:
    """JSON of the top-level fields the model does not know (kept for forward
    compatibility), or None when there are none."""
    try:
        top = _top_level.decode(raw)
    except msgspec.DecodeError:
        return None
    extra = {k: v for k, v in top.items() if k not in known and k not in _ENVELOPE_FIELDS}
    return _encode(extra).decode() if extra else None
