"""Recognising iBeacon, Eddystone-UID and member-app advertisements, byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.beacon.adstructures import parse_advertising_data
from edge.beacon.advertisements import (
    APPLE_COMPANY_ID,
    BeaconId,
    IgnoreReason,
    app_service_uuid,
    identify,
    normalize_uuid,
    parse_app_uuid,
    parse_eddystone_uid,
    parse_ibeacon,
)
from storesense.protocol.eid import eid_at
from storesense.protocol.events import BeaconSighting
from tests.edge.beacon.helpers import (
    APP_KEY,
    EDDYSTONE_FRAME,
    EDDYSTONE_ID,
    EDDYSTONE_RAW,
    EDDYSTONE_UUID,
    IBEACON_APPLE_DATA,
    IBEACON_ID,
    IBEACON_RAW,
    T0,
    app_raw,
)


def identify_raw(raw: bytes) -> tuple[list[BeaconId], list[IgnoreReason]]:
    ad = parse_advertising_data(raw)
    found = identify(ad.manufacturer_data, ad.service_data, ad.service_uuids, ad.tx_power)
    return list(found.beacons), list(found.problems)


def test_real_ibeacon_advertisement_is_recognised() -> None:
    ad = parse_advertising_data(IBEACON_RAW)
    assert ad.manufacturer_data == {APPLE_COMPANY_ID: IBEACON_APPLE_DATA}
    assert identify_raw(IBEACON_RAW) == ([BeaconId(IBEACON_ID, -59)], [])


def test_real_eddystone_uid_frame_is_recognised_with_power_at_one_metre() -> None:
    ad = parse_advertising_data(EDDYSTONE_RAW)
    assert ad.service_data == {EDDYSTONE_UUID: EDDYSTONE_FRAME}
    assert ad.service_uuids == [EDDYSTONE_UUID]
    # -25 dBm at 0 m is -66 dBm at 1 m (the spec's 41 dB over the first metre).
    assert identify_raw(EDDYSTONE_RAW) == ([BeaconId(EDDYSTONE_ID, -66)], [])


def test_eddystone_uid_without_rfu_bytes_is_accepted() -> None:
    assert parse_eddystone_uid(EDDYSTONE_FRAME[:18]) == BeaconId(EDDYSTONE_ID, -66)


def test_member_app_advertisement_carries_the_rotating_id() -> None:
    eid = eid_at(APP_KEY, T0)
    beacons, problems = identify_raw(app_raw(eid, tx_power_level=-12))
    assert beacons == [BeaconId(eid, -53)] and problems == []
    assert app_service_uuid(eid) == f"b006e642-7839-4e01-{eid[:4]}-{eid[4:]}"


def test_member_app_id_without_tx_power_level_has_no_tx_power() -> None:
    eid = eid_at(APP_KEY, T0 + 900)
    assert identify_raw(app_raw(eid)) == ([BeaconId(eid, None)], [])


@given(st.binary(min_size=16, max_size=32), st.floats(min_value=1e9, max_value=4e9))
def test_every_app_id_round_trips_and_is_a_valid_protocol_beacon(key: bytes, at: float) -> None:
    eid = eid_at(key, at)
    uuid = normalize_uuid(app_service_uuid(eid))
    assert uuid is not None
    found = parse_app_uuid(uuid)
    assert found == BeaconId(eid)
    BeaconSighting(id="x", ts=int(T0 * 1000), beacon=eid, rssi=-60)  # raises if not valid


@given(
    st.binary(min_size=16, max_size=16),
    st.integers(0, 65535),
    st.integers(0, 65535),
    st.integers(-128, 127),
)
def test_every_ibeacon_becomes_a_valid_protocol_identifier(
    uuid: bytes, major: int, minor: int, power: int
) -> None:
    data = b"\x02\x15" + uuid + major.to_bytes(2, "big") + minor.to_bytes(2, "big")
    found = parse_ibeacon(data + power.to_bytes(1, "big", signed=True))
    assert isinstance(found, BeaconId)
    assert found.beacon.endswith(f":{major}:{minor}")
    assert found.tx_power == (power if -127 <= power <= 20 else None)
    BeaconSighting(
        id="x", ts=int(T0 * 1000), beacon=found.beacon, rssi=-60, tx_power=found.tx_power
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (IBEACON_APPLE_DATA[:22], IgnoreReason.IBEACON_BAD_LENGTH),
        (b"\x02\x14" + IBEACON_APPLE_DATA[2:], IgnoreReason.IBEACON_BAD_LENGTH),
        (b"\x02", IgnoreReason.IBEACON_BAD_LENGTH),
    ],
)
def test_malformed_ibeacon_is_ignored_with_a_reason(data: bytes, reason: IgnoreReason) -> None:
    assert parse_ibeacon(data) is reason


@pytest.mark.parametrize("data", [b"", b"\x10\x05", b"\x01" + bytes(16)])
def test_other_apple_messages_are_not_beacons(data: bytes) -> None:
    assert parse_ibeacon(data) is None
    found = identify({APPLE_COMPANY_ID: data}, {}, [])
    assert found.beacons == () and found.problems == ()


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"", IgnoreReason.EDDYSTONE_BAD_LENGTH),
        (EDDYSTONE_FRAME[:17], IgnoreReason.EDDYSTONE_BAD_LENGTH),
        (EDDYSTONE_FRAME[:19], IgnoreReason.EDDYSTONE_BAD_LENGTH),
        (EDDYSTONE_FRAME + b"\x00", IgnoreReason.EDDYSTONE_BAD_LENGTH),
        (bytes.fromhex("10ee03676f6f676c6507"), IgnoreReason.EDDYSTONE_NOT_UID),  # URL
        (bytes.fromhex("20000bb8001800000001000000a0"), IgnoreReason.EDDYSTONE_NOT_UID),  # TLM
    ],
)
def test_malformed_or_non_uid_eddystone_is_ignored(frame: bytes, reason: IgnoreReason) -> None:
    assert parse_eddystone_uid(frame) is reason
    assert identify({}, {"feaa": frame}, []).problems == (reason,)


def test_app_uuid_of_an_unknown_layout_version_is_ignored() -> None:
    uuid = "b006e642-7839-4e02-0123-456789abcdef"
    assert parse_app_uuid(uuid) is IgnoreReason.APP_UNKNOWN_VERSION
    assert (
        parse_app_uuid("b006e642-7839-4e00-0000-000000000000") is IgnoreReason.APP_UNKNOWN_VERSION
    )
    assert parse_app_uuid("0000feaa-0000-1000-8000-00805f9b34fb") is None


def test_bad_uuids_are_counted_not_raised() -> None:
    found = identify({}, {"not-a-uuid": b"\x00"}, ["xyz", "b006e642-7839-4e01-0123-456789abcdef"])
    assert found.beacons == (BeaconId("0123456789abcdef"),)
    assert found.problems == (IgnoreReason.BAD_UUID, IgnoreReason.BAD_UUID)


def test_one_advertisement_can_carry_several_beacons_and_duplicates_collapse() -> None:
    app = "b006e642-7839-4e01-0123-456789abcdef"
    found = identify(
        {APPLE_COMPANY_ID: IBEACON_APPLE_DATA},
        {EDDYSTONE_UUID: EDDYSTONE_FRAME},
        [app, app.upper()],
    )
    assert [b.beacon for b in found.beacons] == [IBEACON_ID, EDDYSTONE_ID, "0123456789abcdef"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FEAA", EDDYSTONE_UUID),
        ("0000feaa", EDDYSTONE_UUID),
        ("0000FEAA-0000-1000-8000-00805F9B34FB", EDDYSTONE_UUID),
        ("0000feaa00001000800000805f9b34fb", EDDYSTONE_UUID),
        ("fe-aa", None),
        ("0000feaa-00001000-8000-00805f9b34fb", None),
        ("zzzz", None),
        ("", None),
    ],
)
def test_uuids_normalize_to_the_form_bleak_reports(text: str, expected: str | None) -> None:
    assert normalize_uuid(text) == expected


@given(st.dictionaries(st.integers(0, 65535), st.binary(max_size=40), max_size=4),
       st.dictionaries(st.sampled_from(["feaa", "fd6f", "b006e642-7839-4e01-0123-456789abcdef",
                                        "bad"]), st.binary(max_size=30), max_size=4),
       st.lists(st.one_of(st.text(max_size=40), st.sampled_from(["b006e642-7839-4e01-0123-456789abcdef",
                                                                  "b006e642-7839-4eff-0123-456789abcdef"])),
                max_size=4),
       st.one_of(st.none(), st.integers(-128, 127)))  # fmt: skip
def test_arbitrary_advertisement_data_never_crashes_and_yields_valid_identifiers(
    manufacturer: dict[int, bytes], service: dict[str, bytes], uuids: list[str], tx: int | None
) -> None:
    found = identify(manufacturer, service, uuids, tx)
    for beacon in found.beacons:
        BeaconSighting(
            id="x", ts=int(T0 * 1000), beacon=beacon.beacon, rssi=0, tx_power=beacon.tx_power
        )


def test_app_service_uuid_refuses_a_malformed_eid() -> None:
    with pytest.raises(ValueError, match="16 lowercase hex"):
        app_service_uuid("0123456789ABCDEF")
