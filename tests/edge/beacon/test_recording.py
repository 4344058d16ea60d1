"""Recordings: lines decode to advertisements, and bad lines say which field is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.beacon.advertisements import Advertisement
from edge.beacon.recording import RecordingError, decode_line, encode_line
from storesense.errors import ConfigError
from tests.edge.beacon.helpers import (
    EDDYSTONE_FRAME,
    EDDYSTONE_RAW,
    EDDYSTONE_UUID,
    IBEACON_APPLE_DATA,
    T0,
    app_raw,
)


def line(**fields: Any) -> str:
    return json.dumps({"time": T0, "scanner": "door", "rssi": -60, **fields})


def test_a_structured_line_decodes_like_bleak_would_report_it() -> None:
    advert = decode_line(
        line(
            address="5C:3A",
            manufacturer_data={"76": IBEACON_APPLE_DATA.hex(), "0x0059": "01"},
            service_data={"FEAA": EDDYSTONE_FRAME.hex()},
            service_uuids=["feaa"],
            tx_power=-12,
            local_name="beacon",
        )
    )
    assert advert == Advertisement(
        time=T0,
        scanner="door",
        rssi=-60,
        address="5C:3A",
        manufacturer_data={0x004C: IBEACON_APPLE_DATA, 0x0059: b"\x01"},
        service_data={EDDYSTONE_UUID: EDDYSTONE_FRAME},
        service_uuids=(EDDYSTONE_UUID,),
        tx_power=-12,
    )


def test_a_raw_line_is_parsed_from_the_bytes_on_air() -> None:
    advert = decode_line(line(raw=EDDYSTONE_RAW.hex()))
    assert advert.service_data == {EDDYSTONE_UUID: EDDYSTONE_FRAME}
    assert advert.service_uuids == (EDDYSTONE_UUID,)
    assert advert.tx_power is None


def test_a_raw_line_takes_tx_power_from_the_bytes_unless_given() -> None:
    raw = app_raw("0123456789abcdef", tx_power_level=-12).hex()
    assert decode_line(line(raw=raw)).tx_power == -12
    assert decode_line(line(raw=raw, tx_power=-4)).tx_power == -4


advert_st = st.builds(
    Advertisement,
    time=st.floats(1e9, 4e9),
    scanner=st.text(min_size=1, max_size=64),
    rssi=st.integers(-200, 200),
    address=st.text(max_size=20),
    manufacturer_data=st.dictionaries(st.integers(0, 65535), st.binary(max_size=30), max_size=3),
    service_data=st.dictionaries(
        st.sampled_from([EDDYSTONE_UUID, "b006e642-7839-4e01-0123-456789abcdef"]),
        st.binary(max_size=30),
    ),
    service_uuids=st.lists(st.sampled_from([EDDYSTONE_UUID, "0000180f" + EDDYSTONE_UUID[8:]]),
                           max_size=2).map(tuple),
    tx_power=st.one_of(st.none(), st.integers(-127, 20)),
)  # fmt: skip


@given(advert_st)
def test_encode_then_decode_gives_the_same_advertisement(advert: Advertisement) -> None:
    assert decode_line(encode_line(advert)) == advert


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not a JSON object"),
        ("[1, 2]", "Expected `object`, got `array`"),
        ('{"time": 1764150000, "rssi": -60}', "field `scanner` is required"),
        (line(rssi="strong"), "field `rssi`: expected `int`, got `str`"),
        (line(rsi=-60), "unknown field `rsi`"),
        (line(time=1764150000000), "field `time` must be unix seconds"),
        (line(manufacturer_data={"apple": "00"}), "key 'apple' must be a company id"),
        (line(manufacturer_data={"70000": "00"}), "key '70000' must be a company id"),
        (line(manufacturer_data={"76": "0g"}), "field `manufacturer_data.76` must be hex"),
        (line(service_data={"feaa": "xyz"}), "field `service_data.feaa` must be hex"),
        (line(service_data={"fe": "00"}), "field `service_data.fe` must be a 16-bit"),
        (line(service_uuids=["feaa", "nope"]), "field `service_uuids.1` must be a 16-bit"),
        (line(raw="1aff4c00"), "field `raw`: AD structure at byte 0 claims 26 bytes"),
        (line(raw="020106", service_uuids=["feaa"]), "field `raw` carries the whole"),
    ],
)
def test_bad_lines_name_the_place_and_the_field(text: str, message: str) -> None:
    with pytest.raises(RecordingError, match=r"^rec\.jsonl line 7: ") as caught:
        decode_line(text, "rec.jsonl line 7")
    assert message in str(caught.value)
    assert isinstance(caught.value, ConfigError)
