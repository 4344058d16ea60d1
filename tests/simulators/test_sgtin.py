from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulators.sgtin import (
    MAX_SERIAL,
    encode_sgtin96,
    gtin_check_digit,
    is_valid_gtin14,
    make_gtin14,
)
from tests.simulators.gs1 import Sgtin, check_digit, decode_sgtin96


def test_gs1_tds_example_encodes_to_the_published_epc() -> None:
    # GS1 EPC Tag Data Standard, SGTIN-96 example: GTIN 80614141123458, serial 6789,
    # company prefix 0614141 (partition 5), filter 3.
    epc = encode_sgtin96("80614141123458", 6789, company_prefix_length=7, filter_value=3)
    assert epc == "3074257BF7194E4000001A85".lower()


@pytest.mark.parametrize(
    ("body", "digit"),
    [
        ("8061414112345", 8),  # the GS1 TDS example GTIN
        ("0400638133393", 1),  # EAN-13 4006381333931 as GTIN-14
        ("0001234560001", 2),  # GS1 General Specifications example 00012345600012
        ("0000000000000", 0),
    ],
)
def test_check_digit_matches_published_gtins(body: str, digit: int) -> None:
    assert gtin_check_digit(body) == digit
    assert is_valid_gtin14(body + str(digit))
    assert not is_valid_gtin14(body + str((digit + 1) % 10))


@given(st.text(alphabet="0123456789", min_size=13, max_size=13))
def test_check_digit_agrees_with_left_to_right_weighting(body: str) -> None:
    assert gtin_check_digit(body) == check_digit(body)


@pytest.mark.parametrize("gtin", ["8061414112345", "806141411234588", "8061414112345x", ""])
def test_malformed_gtins_are_not_valid(gtin: str) -> None:
    assert not is_valid_gtin14(gtin)


def test_make_gtin14_appends_the_check_digit() -> None:
    assert make_gtin14(8, "0614141", "12345") == "80614141123458"
    with pytest.raises(ValueError, match="12 digits"):
        make_gtin14(0, "0614141", "1234")


@given(
    prefix_length=st.integers(6, 12),
    digits=st.text(alphabet="0123456789", min_size=13, max_size=13),
    serial=st.integers(0, MAX_SERIAL),
    filter_value=st.integers(0, 7),
)
def test_encoding_round_trips_through_an_independent_decoder(
    prefix_length: int, digits: str, serial: int, filter_value: int
) -> None:
    gtin = digits + str(check_digit(digits))
    epc = encode_sgtin96(
        gtin, serial, company_prefix_length=prefix_length, filter_value=filter_value
    )
    assert len(epc) == 24 and epc == epc.lower()
    decoded = decode_sgtin96(epc)
    assert decoded == Sgtin(
        filter_value=filter_value,
        company_prefix=gtin[1 : 1 + prefix_length],
        item_reference=gtin[0] + gtin[1 + prefix_length : 13],
        serial=serial,
    )
    assert decoded.gtin == gtin


@pytest.mark.parametrize(
    ("gtin", "serial", "prefix_length", "filter_value", "complaint"),
    [
        ("80614141123457", 1, 7, 1, "GTIN-14"),  # wrong check digit
        ("80614141123458", MAX_SERIAL + 1, 7, 1, "serial"),
        ("80614141123458", -1, 7, 1, "serial"),
        ("80614141123458", 1, 5, 1, "6-12 digits"),
        ("80614141123458", 1, 7, 8, "filter"),
    ],
)
def test_invalid_inputs_are_refused(
    gtin: str, serial: int, prefix_length: int, filter_value: int, complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        encode_sgtin96(gtin, serial, company_prefix_length=prefix_length, filter_value=filter_value)
