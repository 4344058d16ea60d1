"""Decoding device payloads: accepted events, and rejections that name the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storesense.protocol.decode import RejectReason, decode_events, decode_status
from storesense.protocol.events import (
    BeaconSighting,
    DoorCrossing,
    PosSale,
    RfidTag,
    encode_events,
)

TS = 1_764_150_000_000
EPC = "30740242201D8840009EFA01"


def door(**extra: Any) -> dict[str, Any]:
    return {"type": "door.crossing", "id": "e1", "ts": TS, "direction": "in", **extra}


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def decode(value: Any, store: str = "s1", device: str = "d1") -> Any:
    return decode_events(value if isinstance(value, bytes) else encode(value), store, device)


VALID = [
    door(),
    door(count=3, door="north"),
    {"type": "rfid.tag", "id": "r", "ts": TS, "epc": EPC, "action": "enter", "zone": "fitting-room-2",
     "antenna": 3, "rssi": -51.5},
    {"type": "beacon.sighting", "id": "b", "ts": TS, "beacon": "0123456789abcdef", "rssi": -70},
    {"type": "beacon.sighting", "id": "b2", "ts": TS, "rssi": -70, "zone": "floor", "tx_power": -59,
     "beacon": "ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:100:65535"},
    {"type": "beacon.sighting", "id": "b3", "ts": TS, "rssi": 0,
     "beacon": "eddystone-uid:0123456789abcdef0123:0123456789ab"},
    {"type": "pos.sale", "id": "p", "ts": "2026-11-26T10:00:00+08:00", "sale_id": "S-1",
     "items": [{"epc": EPC, "qty": 1, "price": 99.5}, {"gtin": "00614141123452", "qty": 2, "price": 10}],
     "member": {"phone": "+8613800138000"}, "total": 119.5, "currency": "CNY"},
]  # fmt: skip


@pytest.mark.parametrize("event", VALID, ids=lambda e: str(e["type"]))
def test_every_valid_event_type_is_accepted(event: dict[str, Any]) -> None:
    result = decode(event)
    assert result.rejected == []
    [accepted] = result.accepted
    assert accepted.event.type == event["type"]
    assert accepted.key == ("s1", "d1", event["id"])


def test_rfc3339_and_epoch_millis_mean_the_same_instant() -> None:
    a = decode(door(ts="2026-11-26T02:00:00Z")).accepted[0].event
    b = decode(door(ts="2026-11-26T10:00:00+08:00")).accepted[0].event
    assert a.ts_ms == b.ts_ms == 1_795_658_400_000


def test_epc_is_normalized_to_lowercase() -> None:
    event = decode(VALID[2]).accepted[0].event
    assert isinstance(event, RfidTag) and event.epc == EPC.lower()


def test_unknown_fields_are_kept_in_the_raw_event() -> None:
    [accepted] = decode(door(firmware={"v": 2}, note="x")).accepted
    assert json.loads(accepted.raw)["firmware"] == {"v": 2}


def test_one_bad_event_rejects_only_itself() -> None:
    batch = [door(id="a"), door(id="b", direction="sideways"), door(id="c")]
    result = decode(batch)
    assert [a.event.id for a in result.accepted] == ["a", "c"]
    [rejection] = result.rejected
    assert rejection.index == 1 and rejection.event_id == "b"
    assert rejection.message.startswith("event 1 in batch: field `direction`")


@pytest.mark.parametrize(
    ("event", "reason", "names"),
    [
        ({"type": "beacon.sighting", "id": "x", "ts": TS, "beacon": "0123456789abcdef",
          "rssi": "strong"}, RejectReason.INVALID_FIELD, "field `rssi`"),
        ({"type": "beacon.sighting", "id": "x", "ts": TS, "beacon": "0123456789abcdef",
          "rssi": -128}, RejectReason.INVALID_FIELD, "field `rssi`"),
        ({"type": "beacon.sighting", "id": "x", "ts": TS, "beacon": "0123456789ABCDEF",
          "rssi": -60}, RejectReason.INVALID_FIELD, "field `beacon`"),
        ({"type": "beacon.sighting", "id": "x", "ts": TS, "rssi": -60,
          "beacon": "ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:70000:1"},
         RejectReason.INVALID_FIELD, "major"),
        (door(count=0), RejectReason.INVALID_FIELD, "field `count`"),
        (door(count=1001), RejectReason.INVALID_FIELD, "field `count`"),
        (door(count=True), RejectReason.INVALID_FIELD, "field `count`"),
        (door(ts=1_764_150_000), RejectReason.INVALID_FIELD, "looks like seconds"),
        (door(ts="2026-11-26T10:00:00"), RejectReason.INVALID_FIELD, "UTC offset"),
        (door(ts=1.5e12), RejectReason.INVALID_FIELD, "field `ts`"),
        (door(id=""), RejectReason.INVALID_FIELD, "field `id`"),
        (door(id="x" * 65), RejectReason.INVALID_FIELD, "field `id`"),
        ({"type": "door.crossing", "ts": TS, "direction": "in"}, RejectReason.INVALID_FIELD,
         "field `id` is required"),
        ({"id": "x", "ts": TS}, RejectReason.INVALID_FIELD, "field `type` is required"),
        ({"type": "rfid.tag", "id": "x", "ts": TS, "epc": "30AB", "action": "enter", "zone": "f"},
         RejectReason.INVALID_FIELD, "field `epc`"),
        ({"type": "rfid.tag", "id": "x", "ts": TS, "epc": EPC, "action": "enter"},
         RejectReason.INVALID_FIELD, "field `zone` is required"),
        ({"type": "pos.sale", "id": "x", "ts": TS, "sale_id": "s", "items": []},
         RejectReason.INVALID_FIELD, "field `items`"),
        ({"type": "pos.sale", "id": "x", "ts": TS, "sale_id": "s",
          "items": [{"qty": 1, "price": 1, "gtin": "00614141123452"}, {"qty": 1, "price": 2}]},
         RejectReason.INVALID_FIELD, "field `items[1]`: sale item needs an `epc` or a `gtin`"),
        ({"type": "pos.sale", "id": "x", "ts": TS, "sale_id": "s",
          "items": [{"qty": 0, "price": 1, "gtin": "00614141123452"}]},
         RejectReason.INVALID_FIELD, "field `items[0].qty`"),
        ({"type": "pos.sale", "id": "x", "ts": TS, "sale_id": "s",
          "items": [{"qty": 1, "price": 1, "gtin": "123"}]},
         RejectReason.INVALID_FIELD, "field `items[0].gtin`"),
        ({"type": "pos.sale", "id": "x", "ts": TS, "sale_id": "s", "member": {"phone": "+8613800138000", "id": "m"},
          "items": [{"qty": 1, "price": 1, "gtin": "00614141123452"}]},
         RejectReason.INVALID_FIELD, "field `member`"),
        ({"type": "pos.sale", "id": "x", "ts": TS, "sale_id": "s", "currency": "yuan",
          "items": [{"qty": 1, "price": 1, "gtin": "00614141123452"}]},
         RejectReason.INVALID_FIELD, "field `currency`"),
        ({"type": "shelf.weight", "id": "x", "ts": TS}, RejectReason.UNKNOWN_TYPE, "shelf.weight"),
        ({"type": 7, "id": "x", "ts": TS}, RejectReason.UNKNOWN_TYPE, "unknown event type 7"),
        (door(store="other"), RejectReason.STORE_MISMATCH, "names store 'other'"),
        (door(device="d2"), RejectReason.DEVICE_MISMATCH, "names device 'd2'"),
    ],
)  # fmt: skip
def test_invalid_event_is_rejected_naming_the_field(
    event: dict[str, Any], reason: RejectReason, names: str
) -> None:
    result = decode(event)
    assert result.accepted == []
    [rejection] = result.rejected
    assert rejection.reason is reason
    assert names in rejection.message


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", RejectReason.MALFORMED_JSON),
        (b"\xff\xfe", RejectReason.MALFORMED_JSON),
        (b"", RejectReason.MALFORMED_JSON),
        (b"[]", RejectReason.BAD_BATCH),
        (b"[1, 2", RejectReason.MALFORMED_JSON),
        (b'"just a string"', RejectReason.INVALID_FIELD),
        (encode([door(id=str(i)) for i in range(501)]), RejectReason.BAD_BATCH),
    ],
)
def test_whole_message_failures_are_rejected_once(payload: bytes, reason: RejectReason) -> None:
    result = decode(payload)
    assert result.accepted == []
    assert [r.reason for r in result.rejected] == [reason]


def test_oversize_message_is_rejected_before_parsing() -> None:
    batch = [door(id=str(i), pad="x" * 600) for i in range(450)]
    payload = encode(batch)
    assert len(payload) > 256 * 1024
    [rejection] = decode(payload).rejected
    assert rejection.reason is RejectReason.TOO_LARGE
    assert str(len(payload)) in rejection.message


def test_a_full_batch_of_500_is_accepted() -> None:
    assert len(decode([door(id=str(i)) for i in range(500)]).accepted) == 500


def test_models_encode_to_payloads_the_decoder_accepts() -> None:
    events = [
        DoorCrossing(id="1", ts=TS, direction="out", count=2),
        RfidTag(id="2", ts=TS, epc=EPC, action="leave", zone="fitting-room-1"),
        BeaconSighting(id="3", ts=TS, beacon="0123456789abcdef", rssi=-80),
        PosSale(id="4", ts=TS, sale_id="s", items=[]),
    ]
    events[3].items.append(  # type: ignore[attr-defined]
        __import__("storesense.protocol.events", fromlist=["SaleItem"]).SaleItem(
            qty=1, price=5.0, gtin="00614141123452"
        )
    )
    result = decode(encode_events(events))  # type: ignore[arg-type]
    assert [a.event for a in result.accepted] == events


def test_status_decodes_and_bad_status_names_the_field() -> None:
    status = decode_status(b'{"state":"online","ts":1764150000000,"kind":"rfid","version":"1.2"}')
    assert status.state == "online" and status.ts_ms == TS
    with pytest.raises(ValueError, match="state"):
        decode_status(b'{"state":"asleep","ts":1}')


@settings(deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(payload: bytes) -> None:
    result = decode_events(payload, "s", "d")
    assert len(result.accepted) + len(result.rejected) >= 1


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.dictionaries(st.sampled_from(["type", "id", "ts", "direction", "count", "epc", "zone",
                                        "action", "beacon", "rssi", "items", "store"]),
                       json_values, max_size=8))  # fmt: skip
def test_arbitrary_objects_are_accepted_or_rejected_with_a_reason(event: dict[str, Any]) -> None:
    result = decode([event, door(id="good")])
    assert "good" in [a.event.id for a in result.accepted]
    for rejection in result.rejected:
        assert rejection.message.startswith("event 0 in batch: ")
        assert rejection.reason in RejectReason


@pytest.mark.parametrize("zone", ["room\n2", "room\\", "a\x00b", ""])
def test_zone_names_that_cannot_be_stored_safely_are_rejected(zone: str) -> None:
    event = {"type": "rfid.tag", "id": "x", "ts": TS, "epc": EPC, "action": "enter", "zone": zone}
    [rejection] = decode(event).rejected
    assert "field `zone`" in rejection.message
