"""Comparing points with their value types, and hypothesis strategies for nasty points."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from hypothesis import strategies as st

from storesense.backends.timeseries import Point, TimeSeriesStore

BASE_NS = 1_700_000_000 * 10**9

# Every character line protocol or InfluxQL treats specially, plus some that are merely unusual.
NASTY = "\x00 ,=\"'\\\n\r\t\x85\u2028\x0b#{}\u00e9\u2603\U0001f600"


def typed(point: Point) -> tuple[Any, ...]:
    """A point as a comparable value in which 2 and 2.0 and True differ."""
    fields = sorted((key, type(value).__name__, value) for key, value in point.fields.items())
    return (point.ts_ns, point.measurement, sorted(point.tags.items()), fields)


def typed_all(points: Iterable[Point]) -> list[tuple[Any, ...]]:
    return [typed(point) for point in points]


texts = st.text(alphabet=st.sampled_from(NASTY) | st.characters(codec="utf-8"), max_size=12)
tag_values = texts.filter(lambda s: s != "" and not set(s) & set("\x00\r\n")).filter(
    lambda s: not s.endswith("\\") and "\\ " not in s and "\\," not in s and "\\=" not in s
)
# Tag keys start with "t" and field keys with their type letter, so that no name is both.
tag_keys = tag_values.map(lambda s: f"t{s}")

# Field keys start with their type's letter: a field never changes type (stores refuse that).
int_fields = st.integers(min_value=-(2**63), max_value=2**63 - 1)
float_fields = st.floats(allow_nan=False, allow_infinity=False)
field_values: dict[str, st.SearchStrategy[Any]] = {
    "i": int_fields,
    "f": float_fields,
    "s": texts,
    "b": st.booleans(),
}


@st.composite
def fields(draw: st.DrawFn) -> dict[str, Any]:
    kinds = draw(st.lists(st.sampled_from(sorted(field_values)), min_size=1, max_size=4))
    drawn = {}
    for kind in kinds:
        name = draw(st.sampled_from(["", "x", " a,b=c", "é\"'"]))
        drawn[f"{kind}{name}"] = draw(field_values[kind])
    return drawn


@st.composite
def points(draw: st.DrawFn, measurement: str) -> Point:
    tags = draw(st.dictionaries(tag_keys, tag_values, max_size=3))
    drawn = draw(fields())
    # Within one day: InfluxDB opens a shard per week touched, which is slow to do often.
    ts_ns = BASE_NS + draw(st.integers(min_value=0, max_value=86_400 * 10**9))
    return Point(measurement, tags, drawn, ts_ns)


# Numbered points for writer and spool tests: point n has field n = n and time BASE_NS + n.
NUMBERED = "door_crossing"


def batch(first: int, count: int) -> list[Point]:
    return [
        Point(NUMBERED, {"store": "s1"}, {"n": i}, BASE_NS + i) for i in range(first, first + count)
    ]


def numbers(numbered: Iterable[Point]) -> list[int]:
    return [int(point.fields["n"]) for point in numbered]


async def stored(store: TimeSeriesStore) -> list[int]:
    return numbers(await store.query(NUMBERED, start_ns=0, end_ns=2**62))


async def eventually(check: Callable[[], bool], within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
