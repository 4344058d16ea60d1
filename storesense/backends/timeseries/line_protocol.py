"""Encode points as InfluxDB line protocol (one line per point, nanosecond timestamps).

Escaping follows InfluxDB's parser: measurement names escape `,` and space; tag keys, tag
values and field keys escape `,`, `=` and space (a backslash is literal, which is why `Point`
refuses the few strings where it would be ambiguous); string field values are double-quoted
with `\\` and `"` escaped and may contain newlines.
"""

from __future__ import annotations

from collections.abc import Iterable

from storesense.backends.timeseries.base import FieldValue, Point

_MEASUREMENT_ESCAPES = str.maketrans({",": "\\,", " ": "\\ "})
_KEY_ESCAPES = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})


def encode_point(point: Point) -> str:
    """One line, without the trailing newline."""
    parts = [point.measurement.translate(_MEASUREMENT_ESCAPES)]
    # Sorted tags are what InfluxDB recommends and stores; it saves it a sort per point.
    for key in sorted(point.tags):
        parts.append(f",{key.translate(_KEY_ESCAPES)}={point.tags[key].translate(_KEY_ESCAPES)}")
    fields = ",".join(
        f"{key.translate(_KEY_ESCAPES)}={encode_field_value(value)}"
        for key, value in point.fields.items()
    )
    parts.append(f" {fields} {point.ts_ns}")
    return "".join(parts)


def encode_points(points: Iterable[Point]) -> bytes:
    """A write body: the points' lines joined by newlines, UTF-8."""
    return "\n".join(encode_point(point) for point in points).encode()


def encode_field_value(value: FieldValue) -> str:
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value)  # shortest text that parses back to the same float
    return f'"{value.translate(_STRING_ESCAPES)}"'
