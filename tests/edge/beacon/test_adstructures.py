"""Splitting raw advertising data into the fields bleak reports."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.beacon.adstructures import parse_advertising_data, uuid_from_le
from tests.edge.beacon.helpers import app_raw


def test_every_field_a_beacon_scanner_uses_is_parsed() -> None:
    raw = bytes.fromhex(
        "020106"  # flags: ignored
        "05ff59000102"  # manufacturer 0x0059 (Nordic): 01 02
        "03020f18"  # incomplete list of 16-bit UUIDs: 0x180F
        "05041234abcd"  # 32-bit UUID 0xcdab3412
        "06201234abcdff"  # 32-bit service data: ff
        "020af4"  # TX power level -12
        "0409616263"  # complete local name "abc"
    )
    ad = parse_advertising_data(raw)
    assert ad.manufacturer_data == {0x0059: b"\x01\x02"}
    assert ad.service_uuids == [
        "0000180f-0000-1000-8000-00805f9b34fb",
        "cdab3412-0000-1000-8000-00805f9b34fb",
    ]
    assert ad.service_data == {"cdab3412-0000-1000-8000-00805f9b34fb": b"\xff"}
    assert ad.tx_power == -12
    assert ad.local_name == "abc"


def test_128_bit_uuids_are_little_endian_on_air() -> None:
    ad = parse_advertising_data(app_raw("0123456789abcdef"))
    assert ad.service_uuids == ["b006e642-7839-4e01-0123-456789abcdef"]
    assert uuid_from_le(bytes(range(16))) == "0f0e0d0c-0b0a-0908-0706-050403020100"


def test_128_bit_service_data_is_keyed_by_its_uuid() -> None:
    raw = bytes([19, 0x21]) + bytes(range(16)) + b"\xaa\xbb"
    ad = parse_advertising_data(raw)
    assert ad.service_data == {"0f0e0d0c-0b0a-0908-0706-050403020100": b"\xaa\xbb"}


def test_zero_length_structure_ends_the_data() -> None:
    assert parse_advertising_data(bytes.fromhex("020af400ffff")).tx_power == -12


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ("1aff4c00", "byte 0 claims 26 bytes, only 3 remain"),
        ("02010604030f1801", "byte 3: a list of 16-bit UUIDs cannot be 3 bytes"),
        ("02ff4c", "byte 0: manufacturer data needs at least 2 bytes"),
        ("0216aa", "16-bit service data needs at least 2 bytes"),
        ("010a", "TX power level needs at least 1 bytes"),
    ],
)
def test_truncated_data_is_refused_naming_the_offset(raw: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_advertising_data(bytes.fromhex(raw))


@given(st.binary(max_size=62))
def test_any_bytes_parse_or_raise_value_error(raw: bytes) -> None:
    with contextlib.suppress(ValueError):
        parse_advertising_data(raw)
