"""BatchingWriter against real stores: batching, flushing, outages, overflow, shutdown."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storesense.backends.timeseries import BatchingWriter, Point
from storesense.backends.timeseries.batching import backoff_delay
from storesense.backends.timeseries.influx import InfluxTimeSeries
from storesense.backends.timeseries.sqlite import SQLiteTimeSeries
from tests.backends.timeseries_helpers import BASE_NS, NUMBERED, batch, eventually, stored
from tests.servers import InfluxDB, free_port

T0 = BASE_NS
M = NUMBERED


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[SQLiteTimeSeries]:
    store = SQLiteTimeSeries(tmp_path / "ts.sqlite")
    yield store
    await store.close()


async def test_flush_writes_a_partial_batch_at_once(sqlite: SQLiteTimeSeries) -> None:
    async with BatchingWriter(sqlite, batch_size=1000, flush_interval_s=60) as writer:
        writer.submit(batch(0, 3))
        assert writer.buffered == 3
        # Awaited directly (no wait_for task) so that the flush may run before the writer's task.
        async with asyncio.timeout(5):
            await writer.flush()
        assert await stored(sqlite) == [0, 1, 2]
        assert (writer.written, writer.buffered) == (3, 0)


async def test_a_full_batch_is_written_without_waiting_for_the_interval(
    sqlite: SQLiteTimeSeries,
) -> None:
    async with BatchingWriter(sqlite, batch_size=4, flush_interval_s=60) as writer:
        writer.submit(batch(0, 3))
        await asyncio.sleep(0.05)
        assert writer.written == 0
        writer.submit(batch(3, 1))
        await eventually(lambda: writer.written == 4)


async def test_the_interval_writes_what_is_buffered(sqlite: SQLiteTimeSeries) -> None:
    async with BatchingWriter(sqlite, batch_size=1000, flush_interval_s=0.05) as writer:
        writer.submit(batch(0, 2))
        await eventually(lambda: writer.written == 2)


class CountingSQLite(SQLiteTimeSeries):
    """The real SQLite store, counting its write calls, each as slow as a remote write."""

    writes = 0

    async def write(self, points: Sequence[Point]) -> None:
        self.writes += 1
        await asyncio.sleep(0.02)
        await super().write(points)


async def test_steady_trickle_is_written_in_interval_batches_not_point_by_point(
    tmp_path: Path,
) -> None:
    store = CountingSQLite(tmp_path / "ts.sqlite")
    async with BatchingWriter(store, batch_size=1000, flush_interval_s=0.1) as writer:
        for n in range(300):  # one point per ms for 0.3 s, nobody flushing
            writer.submit(batch(n, 1))
            await asyncio.sleep(0.001)
        await writer.flush()
    await store.close()
    assert writer.written == 300
    assert store.writes <= 8  # about one per interval, plus the final flush


async def test_leaving_the_context_writes_everything(sqlite: SQLiteTimeSeries) -> None:
    async with BatchingWriter(sqlite, batch_size=7, flush_interval_s=60) as writer:
        writer.submit(batch(0, 20))
    assert await stored(sqlite) == list(range(20))
    assert (writer.written, writer.dropped) == (20, 0)


async def test_rejected_points_are_counted_and_not_retried(sqlite: SQLiteTimeSeries) -> None:
    async with BatchingWriter(sqlite, batch_size=10, flush_interval_s=60) as writer:
        writer.submit(batch(0, 2))
        writer.submit([Point(M, {"store": "s1"}, {"n": "text"}, T0 + 2)])  # n is an integer
        await writer.flush()
        writer.submit(batch(3, 1))
        await writer.flush()
    assert (writer.written, writer.rejected, writer.retries) == (3, 1, 0)
    assert await stored(sqlite) == [0, 1, 3]


async def test_nothing_is_lost_while_influx_is_down(own_influxdb: InfluxDB) -> None:
    store = InfluxTimeSeries(own_influxdb.url, database=f"t_{uuid.uuid4().hex}")
    writer = BatchingWriter(
        store, batch_size=10, flush_interval_s=0.02, initial_backoff_s=0.05, max_backoff_s=0.2
    )
    async with writer:
        writer.submit(batch(0, 5))
        await writer.flush()
        await asyncio.to_thread(own_influxdb.stop)
        writer.submit(batch(5, 45))
        await eventually(lambda: writer.retries >= 3)
        assert writer.written == 5
        await asyncio.to_thread(own_influxdb.start)
        await asyncio.wait_for(writer.flush(), 30)
    assert await stored(store) == list(range(50))
    assert (writer.written, writer.dropped, writer.buffered) == (50, 0, 0)
    await store.close()


async def test_overflow_drops_the_oldest_buffered_points(own_influxdb: InfluxDB) -> None:
    store = InfluxTimeSeries(own_influxdb.url, database=f"t_{uuid.uuid4().hex}")
    writer = BatchingWriter(
        store,
        batch_size=2,
        flush_interval_s=0.01,
        max_buffered_points=5,
        initial_backoff_s=0.05,
        max_backoff_s=0.1,
    )
    async with writer:
        await asyncio.to_thread(own_influxdb.stop)
        writer.submit(batch(0, 3))
        await eventually(lambda: writer.retries >= 1)  # points 0 and 1 are being written
        writer.submit(batch(3, 7))
        assert (writer.dropped, writer.buffered) == (5, 5)
        await asyncio.to_thread(own_influxdb.start)
        await asyncio.wait_for(writer.flush(), 30)
    assert await stored(store) == [0, 1, 7, 8, 9]
    assert (writer.written, writer.dropped) == (5, 5)
    await store.close()


async def test_close_gives_up_after_its_timeout_and_counts_the_loss() -> None:
    store = InfluxTimeSeries(f"http://127.0.0.1:{free_port()}")
    writer = BatchingWriter(
        store, batch_size=2, flush_interval_s=0.01, initial_backoff_s=0.02, close_timeout_s=0.3
    )
    async with writer:
        writer.submit(batch(0, 5))
    assert (writer.written, writer.dropped, writer.buffered) == (0, 5, 0)
    assert writer.retries >= 1
    await store.close()


async def test_flush_without_start_is_an_error(sqlite: SQLiteTimeSeries) -> None:
    writer = BatchingWriter(sqlite)
    writer.submit(batch(0, 1))
    with pytest.raises(RuntimeError, match="not running"):
        await writer.flush()


@given(st.integers(min_value=0, max_value=10_000))
def test_backoff_doubles_from_initial_up_to_the_cap_with_jitter(attempt: int) -> None:
    ceiling = min(10.0, 0.2 * 2**attempt) if attempt < 64 else 10.0
    delay = backoff_delay(attempt, 0.2, 10.0)
    assert ceiling / 2 <= delay <= ceiling
