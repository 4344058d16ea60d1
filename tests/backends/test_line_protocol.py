"""Line protocol encoding, checked against a parser that reads lines the way InfluxDB does
(its scanner skips the character after a backslash; keys and tag values then unescape only
`\\,` `\\=` `\\ `; string fields unescape `\\\\` and `\\"`)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given

from storesense.backends.timeseries import Point
from storesense.backends.timeseries.line_protocol import encode_point, encode_points
from tests.backends.timeseries_helpers import points, typed


def _scan(line: str, i: int, stops: str) -> tuple[str, int]:
    start = i
    while i < len(line) and line[i] not in stops:
        i += 2 if line[i] == "\\" else 1
    return line[start:i], i


def _unescape_key(raw: str) -> str:
    return re.sub(r"\\([ ,=])", r"\1", raw)


def _field_value(line: str, i: int) -> tuple[Any, int]:
    if line[i] == '"':
        j = i + 1
        while line[j] != '"':
            j += 2 if line[j] == "\\" else 1
        return re.sub(r'\\([\\"])', r"\1", line[i + 1 : j]), j + 1
    raw, j = _scan(line, i, ", ")
    if raw.endswith("i"):
        return int(raw[:-1]), j
    if raw in ("true", "false"):
        return raw == "true", j
    return float(raw), j


def parse_line(line: str) -> Point:
    """Parse one line as InfluxDB 1.x does (a reference for the tests, not for production)."""
    raw, i = _scan(line, 0, ", ")
    measurement = re.sub(r"\\([ ,])", r"\1", raw)
    tags = {}
    while line[i] == ",":
        key, i = _scan(line, i + 1, "=")
        value, i = _scan(line, i + 1, ", ")
        tags[_unescape_key(key)] = _unescape_key(value)
    assert line[i] == " "
    fields = {}
    i += 1
    while True:
        key, i = _scan(line, i, "=")
        fields[_unescape_key(key)], i = _field_value(line, i + 1)
        if line[i] == " ":
            break
        assert line[i] == ","
        i += 1
    timestamp = line[i + 1 :]
    assert re.fullmatch(r"-?[0-9]+", timestamp), f"no timestamp at the end of {line!r}"
    return Point(measurement, tags, fields, int(timestamp))


@pytest.mark.parametrize(
    ("point", "line"),
    [
        (Point("door", {}, {"count": 1}, 5), "door count=1i 5"),
        (
            Point("door", {"store": "s 1", "zone": "a,b=c"}, {"x": 1.5}, -7),
            "door,store=s\\ 1,zone=a\\,b\\=c x=1.5 -7",
        ),
        (
            Point("door", {"zone": "z"}, {"ok": True, "no": False}, 1),
            "door,zone=z ok=true,no=false 1",
        ),
        (
            Point("door", {"k": 'q"\\x'}, {"s": 'say "hi"\\\n', "f": 2.0}, 1),
            'door,k=q"\\x s="say \\"hi\\"\\\\\n",f=2.0 1',
        ),
        (Point("door", {}, {"a b=c,d": 1e300}, 1), "door a\\ b\\=c\\,d=1e+300 1"),
    ],
)
def test_encodes_with_influx_escaping(point: Point, line: str) -> None:
    assert encode_point(point) == line


def test_tags_are_sorted_by_key() -> None:
    line = encode_point(Point("m", {"zone": "1", "device": "2", "store": "3"}, {"v": 1}, 0))
    assert line.startswith("m,device=2,store=3,zone=1 ")


def test_a_body_is_one_line_per_point() -> None:
    body = encode_points([Point("m", {}, {"s": "a\nb"}, 1), Point("m", {}, {"v": 2}, 2)])
    assert body == b'm s="a\nb" 1\nm v=2i 2'


@given(points("door_crossing"))
def test_influx_parser_reads_back_every_encoded_point(point: Point) -> None:
    assert typed(parse_line(encode_point(point))) == typed(point)


@given(points("door_crossing"))
def test_integers_are_suffixed_and_bools_are_words(point: Point) -> None:
    line = encode_point(point)
    for value in point.fields.values():
        if isinstance(value, bool):
            assert f"={str(value).lower()}" in line
        elif isinstance(value, int):
            assert f"={value}i" in line
