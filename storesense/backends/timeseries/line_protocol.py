"""Encode points as InfluxDB line protocol (one line per point, nanosecond timestamps).

Escaping follows InfluxDB's parser: measurement names escape `,` and space; tag keys, tag
values and field keys escape `,`, `=` and space (a backslash is literal, which is why `Point`
refuses the few strings where it would be ambiguous); string field values are double-quoted
with `\\` and `"` escaped and may contain newlines.

This runs once per point on the ingest hot path. Measurements, tag sets and keys repeat
endlessly (tags have bounded cardinality by design), so each is escaped once and remembered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from storesense.backends.timeseries.base import FieldValue, Point

_MEASUREMENT_ESCAPES = str.maketrans({",": "\\,", " ": "\\ "})
_KEY_ESCAPES = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})

# Bounded memos: cleared when full, so a burst of unusual tags cannot grow them without end.
_MEMO_LIMIT = 50_000
_series: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
_keys: dict[str, str] = {}


def encode_point(point: Point) -> str:
    """One line, without the trailing newline."""
    tags = point.tags
    series_id = (point.measurement, tuple(sorted(tags.items())) if tags else ())
    series = _series.get(series_id)
    if series is None:
        series = _encode_series(point.measurement, tags)
        if len(_series) >= _MEMO_LIMIT:
            _series.clear()
        _series[series_id] = series
    fields = []
    for key, value in point.fields.items():
        name = _keys.get(key)
        if name is None:
            name = _field_key(key)
        kind = type(value)
        if kind is str:
            if '"' in value or "\\" in value:  # type: ignore[operator]
                value = value.translate(_STRING_ESCAPES)  # type: ignore[union-attr]
            fields.append(f'{name}="{value}"')
        elif kind is int:
            fields.append(f"{name}={value}i")
        elif kind is float:
            fields.append(f"{name}={value!r}")
        else:  # bool, or a subclass of one of the types above
            fields.append(f"{name}={encode_field_value(value)}")
    return f"{series} {','.join(fields)} {point.ts_ns}"


def encode_points(points: Iterable[Point]) -> bytes:
    """A write body: the points' lines joined by newlines, UTF-8 (a line its builder wrote
    already is used as it is)."""
    return "\n".join([point.line or encode_point(point) for point in points]).encode()


def escape_tag(text: str) -> str:
    """A tag key, tag value or field key as line protocol writes it."""
    escaped = _keys.get(text)
    return _field_key(text) if escaped is None else escaped


def quote_string(value: str) -> str:
    """A string field value as line protocol writes it, quotes included."""
    if '"' in value or "\\" in value:
        value = value.translate(_STRING_ESCAPES)
    return f'"{value}"'


def encode_field_value(value: FieldValue) -> str:
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value)  # shortest text that parses back to the same float
    return f'"{value.translate(_STRING_ESCAPES)}"'


def _encode_series(measurement: str, tags: Mapping[str, str]) -> str:
    # Sorted tags are what InfluxDB recommends and stores; it saves it a sort per point.
    parts = [measurement.translate(_MEASUREMENT_ESCAPES)]
    for key in sorted(tags):
        parts.append(f",{key.translate(_KEY_ESCAPES)}={tags[key].translate(_KEY_ESCAPES)}")
    return "".join(parts)


def _field_key(key: str) -> str:
    escaped = key.translate(_KEY_ESCAPES)
    if len(_keys) >= _MEMO_LIMIT:
        _keys.clear()
    _keys[key] = escaped
    return escaped
