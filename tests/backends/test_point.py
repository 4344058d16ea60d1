"""Point refuses, with a message naming the culprit, what some store could not keep as given."""

from __future__ import annotations

from typing import Any

import pytest

from storesense.backends.timeseries import Point


@pytest.mark.parametrize(
    ("measurement", "tags", "fields", "ts_ns", "message"),
    [
        ("m", {"zone": "a\nb"}, {"v": 1}, 0, "tag `zone` contains a newline"),
        ("m", {"zone": "a\rb"}, {"v": 1}, 0, "tag `zone` contains a newline, carriage return"),
        ("m", {"zone": "a\x00"}, {"v": 1}, 0, "tag `zone` contains a newline, carriage return"),
        ("m", {}, {"a\x00": 1}, 0, "field key 'a\\x00'"),
        ("m", {"zone": "ends\\"}, {"v": 1}, 0, "tag `zone` has a backslash"),
        ("m", {"zone": "a\\,b"}, {"v": 1}, 0, "tag `zone` has a backslash"),
        ("m", {"zone": ""}, {"v": 1}, 0, "tag `zone` must be a non-empty string"),
        ("m", {"a\nb": "x"}, {"v": 1}, 0, "tag key 'a\\nb'"),
        ("m", {}, {}, 0, "has no fields"),
        ("m", {}, {"v": float("nan")}, 0, "field `v` = nan is not finite"),
        ("m", {}, {"v": float("inf")}, 0, "not finite"),
        ("m", {}, {"v": 2**63}, 0, "does not fit in int64"),
        ("m", {}, {"v": None}, 0, "field `v` must be int, float, str or bool, got NoneType"),
        ("m", {}, {"v": "x" * 65536}, 0, "longer than"),
        ("m", {}, {"time": 1}, 0, "`time` is reserved"),
        ("m", {"v": "x"}, {"v": 1}, 0, "`v` is both a tag and a field"),
        ("m", {}, {"": 1}, 0, "keys must be non-empty"),
        ("door crossing", {}, {"v": 1}, 0, "measurement 'door crossing'"),
        ("", {}, {"v": 1}, 0, "measurement ''"),
        ("m", {}, {"v": 1}, 2**63 - 1, "ts_ns"),
    ],
)
def test_unstorable_points_are_refused(
    measurement: str, tags: dict[str, Any], fields: dict[str, Any], ts_ns: int, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        Point(measurement, tags, fields, ts_ns)
    assert message in str(caught.value)


def test_storable_oddities_are_accepted() -> None:
    point = Point(
        "door_crossing.v1",
        {"zone": "fitting room 2, left=yes", "quote": 'it\'s "x"', "bs": "a\\b"},
        {"note": "line\nbreak\\", "max": 2**63 - 1, "min": -(2**63), "zero": 0.0},
        -(2**63) + 2,
    )
    assert point.fields["max"] == 2**63 - 1
