"""The time-series interface: `Point`, the `TimeSeriesStore` protocol and its errors.

Semantics every store shares (those of InfluxDB): a point's identity is (measurement, tag set,
ts_ns). Writing a point whose identity exists merges its fields into the stored point (a
replayed event with the same fields is therefore stored once); int, float, bool and str field
values read back with the type they were written with. A field keeps one type per measurement:
a point that gives it another type is rejected (`PointsRejected`) while the rest are written
(InfluxDB checks this per shard, a week of data by default; SQLite for all time).

`Point` refuses at construction what some store could not keep exactly: line breaks or NUL in
tags and keys, a backslash where line protocol would read it as an escape, non-finite floats,
integers beyond int64, strings over 64 KiB, the reserved key `time`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from storesense.errors import StoresenseError

FieldValue = int | float | str | bool

MEASUREMENT_PATTERN = r"[A-Za-z][A-Za-z0-9_.-]{0,127}"
_MEASUREMENT = re.compile(MEASUREMENT_PATTERN)
# InfluxDB reserves the two extreme int64 values; these are its MinNanoTime and MaxNanoTime.
MIN_TS_NS = -(2**63) + 2
MAX_TS_NS = 2**63 - 2
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
MAX_STRING_BYTES = 64 * 1024 - 1  # InfluxDB 1.x refuses longer string fields
# Line protocol unescapes `\,` `\=` `\ ` in keys and tag values but never `\\`, so a backslash
# right before one of those (or at the end, where it would escape the separator) cannot be
# written unambiguously.
_UNREPRESENTABLE_BACKSLASH = re.compile(r"\\(?:[ ,=]|$)")
# A newline ends a line of line protocol; InfluxQL reads a carriage return as a newline (which
# ends a quoted string) and NUL as the end of the query. So tags and keys cannot hold them.
_UNQUOTABLE = re.compile(r"[\x00\r\n]")


class PointsRejected(StoresenseError):
    """The backend refused some or all points of a write (bad value, field type conflict);
    the others were written. Retrying the same points will fail again."""

    def __init__(self, message: str, *, dropped: int) -> None:
        super().__init__(message)
        self.dropped = dropped


class QueryFailed(StoresenseError):
    """The backend answered a query with an error."""


@dataclass(frozen=True, slots=True)
class Point:
    """One row of a measurement; raises ValueError when no backend could store it faithfully."""

    measurement: str
    tags: Mapping[str, str]  # bounded-cardinality dimensions only (store, device, type, zone...)
    fields: Mapping[str, FieldValue]  # at least one field
    ts_ns: int  # epoch nanoseconds
    # Its line protocol, when the builder wrote it already (`Point.trusted`); not part of
    # the point's value: equal points compare equal with or without it.
    line: str | None = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_measurement(self.measurement)
        where = f"point in `{self.measurement}`"
        if not MIN_TS_NS <= self.ts_ns <= MAX_TS_NS:
            raise ValueError(
                f"{where}: ts_ns {self.ts_ns} is outside the int64 range InfluxDB takes"
            )
        if not self.fields:
            raise ValueError(f"{where}: has no fields; give it at least one")
        check_tags(self.tags, where)
        for key, field in self.fields.items():
            check_key(key, "field", where)
            if key in self.tags:
                raise ValueError(f"{where}: `{key}` is both a tag and a field")
            _check_field_value(where, key, field)

    @classmethod
    def trusted(
        cls,
        measurement: str,
        tags: Mapping[str, str],
        fields: Mapping[str, FieldValue],
        ts_ns: int,
        line: str | None = None,
    ) -> Point:
        """A point whose values its builder guarantees would pass the checks above (e.g.
        built from decoded, validated events): skips them, on paths that build one per event.
        `line`, if given, must be what `line_protocol.encode_point` makes of the point."""
        point = _new(cls)
        _set_measurement(point, measurement)
        _set_tags(point, tags)
        _set_fields(point, fields)
        _set_ts_ns(point, ts_ns)
        _set_line(point, line)
        return point


# The slots' own setters: cheaper than object.__setattr__, and past the frozen guard.
_new = object.__new__
_slot: dict[str, Any] = dict(vars(Point))
_set_measurement = _slot["measurement"].__set__
_set_tags = _slot["tags"].__set__
_set_fields = _slot["fields"].__set__
_set_ts_ns = _slot["ts_ns"].__set__
_set_line = _slot["line"].__set__


def check_measurement(measurement: str) -> None:
    if not isinstance(measurement, str) or not _MEASUREMENT.fullmatch(measurement):
        raise ValueError(
            f"measurement {measurement!r} must be an identifier matching {MEASUREMENT_PATTERN}"
        )


def check_query(
    measurement: str,
    start_ns: int,
    end_ns: int,
    tags: Mapping[str, str] | None = None,
    limit: int | None = None,
) -> None:
    """Validate query arguments alike for every store (ValueError naming the argument)."""
    check_measurement(measurement)
    if tags:
        check_tags(tags)
    if not (isinstance(start_ns, int) and isinstance(end_ns, int)):
        raise ValueError(f"start_ns and end_ns must be integers, got {start_ns!r}, {end_ns!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")


def field_type(value: FieldValue) -> str:
    """InfluxDB's name for the type of a field value."""
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    return "string"


# Keys and tag values repeat endlessly (store, device, zone…): each is checked once.
_CHECKED: set[str] = set()
_CHECKED_LIMIT = 100_000


def _remember_checked(text: str) -> None:
    if len(_CHECKED) >= _CHECKED_LIMIT:
        _CHECKED.clear()
    _CHECKED.add(text)


def check_tags(tags: Mapping[str, str], where: str = "tag filter") -> None:
    """Tags must be carried by line protocol and be quotable in InfluxQL."""
    for key, value in tags.items():
        if key in _CHECKED and value in _CHECKED and isinstance(value, str):
            continue
        check_key(key, "tag", where)
        if not isinstance(value, str) or value == "":
            raise ValueError(f"{where}: tag `{key}` must be a non-empty string, got {value!r}")
        if _UNQUOTABLE.search(value):
            raise ValueError(
                f"{where}: tag `{key}` contains a newline, carriage return or NUL, which line "
                "protocol and InfluxQL cannot carry"
            )
        if _UNREPRESENTABLE_BACKSLASH.search(value):
            raise ValueError(
                f"{where}: tag `{key}` has a backslash before a space, comma, '=' or at the "
                f"end ({value!r}), which line protocol cannot carry"
            )
        _remember_checked(value)


def check_key(key: str, kind: str = "field", where: str = "query") -> None:
    if key in _CHECKED and key != "time":
        return
    if not isinstance(key, str) or key == "":
        raise ValueError(f"{where}: {kind} keys must be non-empty strings, got {key!r}")
    if key == "time":
        raise ValueError(f"{where}: `time` is reserved by InfluxDB; rename the {kind}")
    if _UNQUOTABLE.search(key) or _UNREPRESENTABLE_BACKSLASH.search(key):
        raise ValueError(f"{where}: {kind} key {key!r} cannot be carried by line protocol")
    _remember_checked(key)


def _check_field_value(where: str, key: str, value: object) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"{where}: field `{key}` = {value} does not fit in int64")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: field `{key}` = {value} is not finite")
    elif isinstance(value, str):
        if len(value) * 4 > MAX_STRING_BYTES and len(value.encode()) > MAX_STRING_BYTES:
            raise ValueError(f"{where}: field `{key}` is longer than {MAX_STRING_BYTES} bytes")
    else:
        raise ValueError(
            f"{where}: field `{key}` must be int, float, str or bool, got {type(value).__name__}"
        )


class TimeSeriesStore(Protocol):
    """A time-series backend. Ranges are half-open: start_ns <= ts < end_ns; `tags` selects
    points having each given tag with the given value (they may have more tags)."""

    async def write(self, points: Sequence[Point]) -> None:
        """Store points; BackendUnavailable when unreachable, PointsRejected when refused."""
        ...

    async def query(
        self,
        measurement: str,
        *,
        start_ns: int,
        end_ns: int,
        tags: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Point]:
        """Points in the range whose tags match, ordered by time (ties in any order)."""
        ...

    async def count(
        self,
        measurement: str,
        *,
        start_ns: int,
        end_ns: int,
        tags: Mapping[str, str] | None = None,
    ) -> int:
        """Number of points (rows) in the range whose tags match."""
        ...

    async def sum(
        self,
        measurement: str,
        field: str,
        *,
        start_ns: int,
        end_ns: int,
        tags: Mapping[str, str] | None = None,
    ) -> float:
        """Sum of a numeric field over matching points (0.0 when none); ValueError when the
        field holds strings or booleans."""
        ...

    async def close(self) -> None:
        """Release connections and threads; the store cannot be used afterwards."""
        ...
