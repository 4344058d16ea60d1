"""One contract, two stores: the embedded SQLite file and a real InfluxDB 1.x server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storesense.backends.timeseries import Point, PointsRejected, TimeSeriesStore
from storesense.backends.timeseries.influx import InfluxTimeSeries
from storesense.backends.timeseries.sqlite import SQLiteTimeSeries
from tests.backends.timeseries_helpers import BASE_NS, points, typed, typed_all
from tests.servers import InfluxDB

T0 = BASE_NS
SEC = 10**9
M = "door_crossing"


@pytest.fixture(params=["sqlite", "influx"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TimeSeriesStore]:
    opened: TimeSeriesStore
    if request.param == "sqlite":
        opened = SQLiteTimeSeries(tmp_path / "not" / "yet" / "timeseries.sqlite")
    else:
        server: InfluxDB = request.getfixturevalue("influxdb")
        opened = InfluxTimeSeries(server.url, database=f"test_{uuid.uuid4().hex}")
    yield opened
    await opened.close()


def point(ts: int, tags: dict[str, str] | None = None, **fields: Any) -> Point:
    return Point(M, tags if tags is not None else {"store": "s1"}, fields or {"count": 1}, ts)


async def everything(store: TimeSeriesStore, measurement: str = M) -> list[Point]:
    return await store.query(measurement, start_ns=0, end_ns=2**62)


async def test_a_new_store_answers_empty(store: TimeSeriesStore) -> None:
    window: dict[str, Any] = {"start_ns": 0, "end_ns": 2**62}
    assert await store.query(M, **window) == []
    assert await store.count(M, **window) == 0
    assert await store.sum(M, "count", tags={"store": "s1"}, **window) == 0.0


async def test_round_trip_keeps_value_types(store: TimeSeriesStore) -> None:
    written = [
        point(T0, {"store": "s1", "device": "door-1"}, count=3, ratio=2.0, ok=True, who="x"),
        point(T0 + 1, {"store": "s1"}, count=-(2**62), ratio=1e300, ok=False, who=""),
        point(T0 + 2, {"store": "s1"}, ratio=0.1, small=5e-324),
    ]
    await store.write(written)
    assert typed_all(await everything(store)) == typed_all(written)


async def test_replayed_point_is_stored_once(store: TimeSeriesStore) -> None:
    event = point(T0, {"store": "s1", "device": "door-1"}, count=2)
    await store.write([event])
    await store.write([event])
    assert await store.count(M, start_ns=0, end_ns=2**62) == 1
    assert typed_all(await everything(store)) == [typed(event)]


async def test_same_identity_replaces_values_and_merges_new_fields(store: TimeSeriesStore) -> None:
    await store.write([point(T0, count=1, door="north")])
    await store.write([point(T0, count=7, flag=True)])
    [stored] = await everything(store)
    assert typed(stored) == typed(point(T0, count=7, door="north", flag=True))


async def test_same_time_with_other_tags_is_another_point(store: TimeSeriesStore) -> None:
    await store.write([point(T0, {"store": "s1"}), point(T0, {"store": "s2"}), point(T0, {})])
    assert await store.count(M, start_ns=T0, end_ns=T0 + 1) == 3


async def test_tag_filter_matches_points_having_those_tags(store: TimeSeriesStore) -> None:
    a = point(T0, {"store": "s1", "device": "d1"})
    b = point(T0 + 1, {"store": "s1", "device": "d2"})
    c = point(T0 + 2, {"store": "s2", "device": "d1"})
    await store.write([a, b, c])
    window: dict[str, Any] = {"start_ns": T0, "end_ns": T0 + 10}
    assert typed_all(await store.query(M, tags={"store": "s1"}, **window)) == typed_all([a, b])
    assert typed_all(await store.query(M, tags={"device": "d1"}, **window)) == typed_all([a, c])
    both = {"store": "s1", "device": "d1"}
    assert typed_all(await store.query(M, tags=both, **window)) == [typed(a)]
    assert await store.query(M, tags={"store": "s3"}, **window) == []
    assert await store.query(M, tags={"zone": "d1"}, **window) == []
    assert await store.count(M, tags={"device": "d1"}, **window) == 2
    assert await store.sum(M, "count", tags={"store": "s2"}, **window) == 1.0


async def test_time_range_is_half_open(store: TimeSeriesStore) -> None:
    await store.write([point(T0 + i * SEC, count=i) for i in range(4)])
    got = await store.query(M, start_ns=T0 + SEC, end_ns=T0 + 3 * SEC)
    assert [p.ts_ns for p in got] == [T0 + SEC, T0 + 2 * SEC]
    assert await store.count(M, start_ns=T0 + SEC, end_ns=T0 + 3 * SEC) == 2
    assert await store.sum(M, "count", start_ns=T0 + SEC, end_ns=T0 + 3 * SEC) == 3.0
    assert await store.count(M, start_ns=T0 + 3 * SEC, end_ns=T0 + 3 * SEC) == 0


NASTY_STRINGS = [
    "two words",
    "a,b",
    "k=v",
    'say "hi"',
    "it's",
    "back\\slash",
    "double\\\\back",
    "\\leading",
    'quote\\"d',
    "tab\t",
    "snow\u2603 \U0001f600",
    "=,= ,",
    "nel\x85 ls\u2028 ps\u2029 vt\x0b ff\x0c fs\x1c",
]


async def test_nasty_strings_round_trip_and_filter(store: TimeSeriesStore) -> None:
    written = [
        Point(
            M, {"zone": text, "odd key, =x": text}, {"note": text + "\r\n\\", "a b=c,": i}, T0 + i
        )
        for i, text in enumerate(NASTY_STRINGS)
    ]
    await store.write(written)
    assert typed_all(await everything(store)) == typed_all(written)
    for expected in written:
        found = await store.query(M, start_ns=0, end_ns=2**62, tags={"zone": expected.tags["zone"]})
        assert typed_all(found) == [typed(expected)]


async def test_sum_adds_int_and_float_values(store: TimeSeriesStore) -> None:
    await store.write([point(T0, count=2, amount=1.5), point(T0 + 1, count=3, amount=2.25)])
    await store.write([point(T0 + 2, {"store": "s1"}, other=1)])
    window: dict[str, Any] = {"start_ns": T0, "end_ns": T0 + 10}
    count_sum = await store.sum(M, "count", **window)
    assert (count_sum, type(count_sum)) == (5.0, float)
    assert await store.sum(M, "amount", **window) == 3.75
    assert await store.sum(M, "never_written", **window) == 0.0
    assert await store.sum(M, "count", start_ns=T0 + 5, end_ns=T0 + 10) == 0.0
    assert await store.sum("no_such_measurement", "count", **window) == 0.0


async def test_sum_of_a_text_field_is_refused(store: TimeSeriesStore) -> None:
    await store.write([point(T0, label="x")])
    with pytest.raises(ValueError, match="label"):
        await store.sum(M, "label", start_ns=T0, end_ns=T0 + 1)


async def test_count_counts_points_with_different_field_sets(store: TimeSeriesStore) -> None:
    await store.write(
        [
            point(T0, {"store": "s1"}, a=1),
            point(T0 + 1, {"store": "s1"}, b=2.0),
            point(T0 + 2, {"store": "s1"}, a=1, b=2.0),
            point(T0 + 3, {"store": "s2"}, c="x"),
            point(T0 + 4, {"store": "s2"}, a=5),
        ]
    )
    assert await store.count(M, start_ns=T0, end_ns=T0 + 10) == 5
    assert await store.count(M, start_ns=T0, end_ns=T0 + 10, tags={"store": "s1"}) == 3
    assert await store.count(M, start_ns=T0, end_ns=T0 + 2) == 2
    assert await store.count(M, start_ns=T0 + 4, end_ns=T0 + 5) == 1
    assert await store.count("no_such_measurement", start_ns=T0, end_ns=T0 + 10) == 0


async def test_query_orders_by_time_across_series(store: TimeSeriesStore) -> None:
    stamps = [T0 + 5, T0 + 1, T0 + 4, T0 + 2, T0 + 3]
    await store.write(
        [point(ts, {"store": f"s{i % 2}", "device": f"d{i}"}) for i, ts in enumerate(stamps)]
    )
    got = await everything(store)
    assert [p.ts_ns for p in got] == sorted(stamps)


async def test_limit_keeps_the_earliest_points_over_all_series(store: TimeSeriesStore) -> None:
    await store.write([point(T0 + 10 + i, {"store": "s1"}, count=i) for i in range(3)])
    await store.write([point(T0 + i, {"store": "s2"}, count=i) for i in range(3)])
    got = await store.query(M, start_ns=0, end_ns=2**62, limit=4)
    assert [(p.ts_ns, p.tags["store"]) for p in got] == [
        (T0, "s2"),
        (T0 + 1, "s2"),
        (T0 + 2, "s2"),
        (T0 + 10, "s1"),
    ]
    assert await store.query(M, start_ns=0, end_ns=2**62, limit=0) == []


async def test_field_type_conflict_rejects_only_that_point(store: TimeSeriesStore) -> None:
    await store.write([point(T0, count=1)])
    with pytest.raises(PointsRejected, match="count") as caught:
        await store.write([point(T0 + 1, count=1.5), point(T0 + 2, count=3)])
    assert caught.value.dropped == 1
    assert [p.fields["count"] for p in await everything(store)] == [1, 3]


async def test_measurements_are_kept_apart(store: TimeSeriesStore) -> None:
    await store.write([point(T0), Point("fitting_room", {"store": "s1"}, {"count": 9}, T0)])
    assert [p.fields["count"] for p in await everything(store)] == [1]
    assert await store.sum("fitting_room", "count", start_ns=0, end_ns=2**62) == 9.0


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_any_points_round_trip(store: TimeSeriesStore, data: st.DataObject) -> None:
    measurement = f"m_{uuid.uuid4().hex}"
    batch = data.draw(st.lists(points(measurement), min_size=1, max_size=8))
    await store.write(batch)
    # What InfluxDB keeps: one point per (tag set, time), fields merged, the last value wins.
    expected: dict[tuple[Any, ...], Point] = {}
    for p in batch:
        key = (frozenset(p.tags.items()), p.ts_ns)
        merged = {**expected[key].fields, **p.fields} if key in expected else p.fields
        expected[key] = Point(measurement, p.tags, merged, p.ts_ns)
    got = await store.query(measurement, start_ns=0, end_ns=2**62)
    assert sorted(typed_all(got)) == sorted(typed_all(expected.values()))
    assert await store.count(measurement, start_ns=0, end_ns=2**62) == len(expected)
    probe = batch[0]
    filtered = await store.query(measurement, start_ns=0, end_ns=2**62, tags=probe.tags)
    wanted = [p for p in expected.values() if probe.tags.items() <= p.tags.items()]
    assert sorted(typed_all(filtered)) == sorted(typed_all(wanted))
