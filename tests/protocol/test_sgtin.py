from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storesense.protocol.sgtin import (
    MAX_SERIAL,
    PARTITIONS,
    InvalidSgtin,
    Sgtin96,
    decode_sgtin96,
    encode_sgtin96,
    gtin_check_digit,
    is_sgtin96,
)
from tests.simulators import gs1


def test_gs1_tds_example_decodes_to_the_published_identity() -> None:
    # GS1 EPC Tag Data Standard, SGTIN-96 encoding/decoding example:
    # urn:epc:tag:sgtin-96:3.0614141.812345.6789 <-> 3074257BF7194E4000001A85.
    sgtin = decode_sgtin96("3074257BF7194E4000001A85")
    assert sgtin == Sgtin96(
        filter_value=3,
        partition=5,
        company_prefix="0614141",
        item_reference="812345",
        serial=6789,
    )
    assert sgtin.gtin == "80614141123458"
    assert sgtin.indicator == 8
    assert sgtin.epc_uri == "urn:epc:id:sgtin:0614141.812345.6789"
    assert sgtin.tag_uri == "urn:epc:tag:sgtin-96:3.0614141.812345.6789"


# The TDS example GTIN 80614141123458 / serial 6789 / filter 3 under every partition, plus
# vectors from other open-source TDS implementations' test suites. Each row was checked
# against epcpy 0.1.8 (an independent implementation of the TDS).
VECTORS = [
    ("3060393243f1660000001a85", 0, "061414112345", "8", 6789, "80614141123458"),
    ("30642dc1cff4554000001a85", 1, "06141411234", "85", 6789, "80614141123458"),
    ("3068249b0cc3d34000001a85", 2, "0614141123", "845", 6789, "80614141123458"),
    ("306c3a91ae08264000001a85", 3, "061414112", "8345", 6789, "80614141123458"),
    ("30702edaf1d06a4000001a85", 4, "06141411", "82345", 6789, "80614141123458"),
    ("3074257bf7194e4000001a85", 5, "0614141", "812345", 6789, "80614141123458"),
    ("30783bf99ef2364000001a85", 6, "061414", "8112345", 6789, "80614141123458"),
    ("3034257BF400B7800004CB2F", 5, "0614141", "000734", 314159, "00614141007349"),
    ("3034007D00011C400000000B", 5, "0008000", "001137", 11, "00008000011378"),
    ("301800004000004000000001", 6, "000001", "0000001", 1, "00000010000014"),
    ("3018E20A00AFFD1CBE991A14", 6, "231464", "0180212", 123456789012, "02314641802120"),
]


@pytest.mark.parametrize(("epc", "partition", "prefix", "item", "serial", "gtin"), VECTORS)
def test_published_vectors_decode_under_every_partition(
    epc: str, partition: int, prefix: str, item: str, serial: int, gtin: str
) -> None:
    sgtin = decode_sgtin96(epc)
    assert (sgtin.partition, sgtin.company_prefix, sgtin.item_reference, sgtin.serial) == (
        partition,
        prefix,
        item,
        serial,
    )
    assert sgtin.gtin == gtin
    assert is_sgtin96(epc) and is_sgtin96(epc.lower()) and is_sgtin96(epc.upper())


@pytest.mark.parametrize(("epc", "partition", "prefix", "item", "serial", "gtin"), VECTORS)
def test_published_vectors_encode_back_to_the_same_epc(
    epc: str, partition: int, prefix: str, item: str, serial: int, gtin: str
) -> None:
    filter_value = decode_sgtin96(epc).filter_value
    assert (
        encode_sgtin96(gtin, serial, company_prefix_length=len(prefix), filter_value=filter_value)
        == epc.lower()
    )


@pytest.mark.parametrize(
    ("epc", "complaint"),
    [
        ("3074257BF7194E4000001A8", "24 hex digits, got 23"),
        ("3074257BF7194E4000001A850", "24 hex digits, got 25"),
        ("", "24 hex digits, got 0"),
        ("3074257BF7194E4000001A8G", "hexadecimal"),
        ("3074257BF7194E40 0001A85", "hexadecimal"),
        ("317A7202CC164BA20B000000", "header is 0x31"),  # an SSCC-96
        ("E2801160600002054E2B1C3F", "header is 0xe2"),  # a TID-style factory EPC
        ("307C257BF7194E4000001A85", "partition must be 0-6, got 7"),
        # partition 5, company prefix field all ones (16777215 > 7 digits)
        ("3017FFFFFC00000000000001", "company prefix 16777215 has more than 7 digits"),
        # partition 0, item reference field 15 (> 1 digit)
        ("30600000000003C000000001", "item reference 15 has more than 1 digits"),
    ],
)
def test_bad_epcs_are_refused_with_a_reason(epc: str, complaint: str) -> None:
    with pytest.raises(InvalidSgtin, match=complaint):
        decode_sgtin96(epc)
    assert not is_sgtin96(epc)


@pytest.mark.parametrize(
    ("body", "digit"),
    [
        ("400638133393", 1),  # EAN-13 4006381333931: an even-length body
        ("03600029145", 2),  # UPC-A (GTIN-12) 036000291452
        ("9638507", 4),  # EAN-8 96385074
        ("8061414112345", 8),  # the TDS example GTIN-14
    ],
)
def test_check_digits_of_every_gtin_length(body: str, digit: int) -> None:
    # Weights 3, 1, 3, … from the right: from the left only agrees for odd lengths.
    assert gtin_check_digit(body) == digit


def test_invalid_sgtin_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        decode_sgtin96("00")


@st.composite
def sgtin_fields(draw: st.DrawFn) -> tuple[int, int, int, int, int]:
    """Filter, partition, company prefix, item reference and serial that fit the table."""
    row = draw(st.sampled_from(PARTITIONS))
    return (
        draw(st.integers(0, 7)),
        row.value,
        draw(st.integers(0, 10**row.prefix_digits - 1)),
        draw(st.integers(0, 10**row.item_digits - 1)),
        draw(st.integers(0, MAX_SERIAL)),
    )


def _pack(filter_value: int, partition: int, company: int, item: int, serial: int) -> str:
    row = PARTITIONS[partition]
    value = (0x30 << 88) | (filter_value << 85) | (partition << 82)
    value |= company << (38 + row.item_bits) | item << 38 | serial
    return f"{value:024x}"


@given(sgtin_fields())
def test_decoding_agrees_with_the_independent_test_decoder(
    fields: tuple[int, int, int, int, int],
) -> None:
    epc = _pack(*fields)
    ours = decode_sgtin96(epc)
    theirs = gs1.decode_sgtin96(epc)
    assert (ours.filter_value, ours.company_prefix, ours.item_reference, ours.serial) == (
        theirs.filter_value,
        theirs.company_prefix,
        theirs.item_reference,
        theirs.serial,
    )
    assert ours.gtin == theirs.gtin
    assert ours.partition == fields[1]


@given(sgtin_fields())
def test_decode_then_encode_returns_the_same_epc(fields: tuple[int, int, int, int, int]) -> None:
    epc = _pack(*fields)
    sgtin = decode_sgtin96(epc)
    again = encode_sgtin96(
        sgtin.gtin,
        sgtin.serial,
        company_prefix_length=len(sgtin.company_prefix),
        filter_value=sgtin.filter_value,
    )
    assert again == epc


@given(
    prefix_length=st.integers(6, 12),
    digits=st.text(alphabet="0123456789", min_size=13, max_size=13),
    serial=st.integers(0, MAX_SERIAL),
    filter_value=st.integers(0, 7),
)
def test_encode_then_decode_returns_the_gtin_and_serial(
    prefix_length: int, digits: str, serial: int, filter_value: int
) -> None:
    gtin = digits + str(gs1.check_digit(digits))
    sgtin = decode_sgtin96(
        encode_sgtin96(gtin, serial, company_prefix_length=prefix_length, filter_value=filter_value)
    )
    assert sgtin.gtin == gtin
    assert sgtin.serial == serial
    assert sgtin.filter_value == filter_value
    assert sgtin.partition == 12 - prefix_length
    assert sgtin.company_prefix == gtin[1 : 1 + prefix_length]


@given(sgtin_fields())
def test_decoding_agrees_with_epcpy(fields: tuple[int, int, int, int, int]) -> None:
    epcpy = pytest.importorskip("epcpy")
    epc = _pack(*fields)
    theirs = epcpy.hex_to_tag_encodable(epc)
    ours = decode_sgtin96(epc)
    assert ours.epc_uri == theirs.epc_uri
    assert ours.gtin == theirs.gtin()
