"""BatchingWriter with a PointSpool: outages ride on disk, across restarts of the process."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from storesense.backends.timeseries import (
    BatchingWriter,
    Point,
    PointSpool,
    SpoolError,
    TimeSeriesStore,
)
from storesense.backends.timeseries.influx import InfluxTimeSeries
from storesense.backends.timeseries.spool import spooled_size
from storesense.backends.timeseries.sqlite import SQLiteTimeSeries
from tests.backends.timeseries_helpers import batch, eventually, numbers, stored
from tests.servers import InfluxDB, free_port

FAST_RETRY: dict[str, Any] = {"initial_backoff_s": 0.05, "max_backoff_s": 0.2}


class Recording:
    """A store that notes what it wrote, in order; with a gate, each write waits for a permit."""

    def __init__(self, inner: TimeSeriesStore, gate: asyncio.Semaphore | None = None) -> None:
        self.inner = inner
        self.gate = gate
        self.order: list[int] = []

    async def write(self, points: Sequence[Point]) -> None:
        if self.gate is not None:
            await self.gate.acquire()
        await self.inner.write(points)
        self.order += numbers(points)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class BreakableSpool(PointSpool):
    """A spool whose appends fail (as on a full disk) while `broken` is set."""

    broken = False

    async def append(self, points: Sequence[Point]) -> int:
        if self.broken:
            raise SpoolError(f"time-series spool {self.path}: database or disk is full")
        return await super().append(points)


@pytest.fixture
async def influx(own_influxdb: InfluxDB) -> AsyncIterator[InfluxTimeSeries]:
    store = InfluxTimeSeries(own_influxdb.url, database=f"t_{uuid.uuid4().hex}")
    yield store
    await store.close()


def accounted(writer: BatchingWriter) -> int:
    return writer.written + writer.rejected + writer.dropped + writer.buffered + writer.spooled


async def test_an_outage_waits_on_disk_and_every_point_is_written_once_in_order(
    tmp_path: Path, own_influxdb: InfluxDB, influx: InfluxTimeSeries
) -> None:
    store = Recording(influx)
    spool = PointSpool(tmp_path / "spool.sqlite")
    writer = BatchingWriter(store, batch_size=10, flush_interval_s=0.02, spool=spool, **FAST_RETRY)
    async with writer:
        writer.submit(batch(0, 5))
        await writer.flush()
        await asyncio.to_thread(own_influxdb.stop)
        for first in range(5, 205, 10):
            writer.submit(batch(first, 10))
            await asyncio.sleep(0.01)
        # While the backend is down, flush() returns once the points are on disk.
        await asyncio.wait_for(writer.flush(), 5)
        assert (writer.spooled, writer.buffered) == (200, 0)
        assert (writer.written, writer.dropped, writer.retries > 0) == (5, 0, True)
        assert accounted(writer) == 205

        await asyncio.to_thread(own_influxdb.start)
        writer.submit(batch(205, 10))  # newer than the spool: written after it
        await asyncio.wait_for(writer.drain(), 30)
        assert (writer.written, writer.dropped, writer.buffered, writer.spooled) == (215, 0, 0, 0)
    assert store.order == list(range(215))
    assert await stored(influx) == list(range(215))


async def test_points_left_at_close_during_an_outage_are_written_by_the_next_writer(
    tmp_path: Path, own_influxdb: InfluxDB, influx: InfluxTimeSeries
) -> None:
    path = tmp_path / "spool.sqlite"
    await asyncio.to_thread(own_influxdb.stop)
    first = BatchingWriter(
        influx, batch_size=10, flush_interval_s=0.02, spool=PointSpool(path), close_timeout_s=0.3,
        **FAST_RETRY,
    )  # fmt: skip
    async with first:
        first.submit(batch(0, 100))
    assert (first.written, first.dropped, first.buffered, first.spooled) == (0, 0, 0, 100)

    # A new process: new objects on the same file.
    later = InfluxTimeSeries(influx.url, database=influx.database)
    second = BatchingWriter(later, batch_size=30, flush_interval_s=0.02, spool=PointSpool(path),
                            **FAST_RETRY)  # fmt: skip
    async with second:
        assert second.spooled == 100  # known from start-up
        second.submit(batch(100, 10))
        await eventually(lambda: second.retries >= 2)
        assert second.written == 0
        await asyncio.to_thread(own_influxdb.start)
        await asyncio.wait_for(second.drain(), 30)  # waits for the inherited points too
        assert (second.written, second.dropped, second.spooled) == (110, 0, 0)
    await later.close()
    assert await stored(influx) == list(range(110))


async def test_a_spool_left_by_an_earlier_process_is_written_before_new_points(
    tmp_path: Path,
) -> None:
    path = tmp_path / "spool.sqlite"
    async with PointSpool(path) as earlier:
        await earlier.append(batch(0, 100))
    sqlite = SQLiteTimeSeries(tmp_path / "ts.sqlite")
    store = Recording(sqlite)
    async with BatchingWriter(store, batch_size=10, spool=PointSpool(path)) as writer:
        writer.submit(batch(100, 10))
        await writer.drain()
        assert (writer.written, writer.spooled) == (110, 0)
    assert store.order == list(range(110))
    await sqlite.close()


async def test_close_interrupts_a_hanging_write_and_spools_its_points(tmp_path: Path) -> None:
    # A server that accepts connections and never answers: the write would wait for its timeout.
    server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    store = InfluxTimeSeries(f"http://127.0.0.1:{port}", timeout_s=30)
    spool = PointSpool(tmp_path / "spool.sqlite")
    writer = BatchingWriter(store, batch_size=5, spool=spool, close_timeout_s=0.2)
    async with writer:
        writer.submit(batch(0, 8))
    started = time.monotonic()
    async with server:
        async with writer:
            writer.submit(batch(8, 2))
        assert time.monotonic() - started < 5
    assert (writer.written, writer.dropped, writer.buffered, writer.spooled) == (0, 0, 0, 10)
    async with PointSpool(spool.path) as reopened:
        assert numbers((await reopened.read(100)).points) == list(range(10))
    await store.close()


async def test_memory_past_the_threshold_goes_to_disk_while_the_backend_is_slow(
    tmp_path: Path,
) -> None:
    gate = asyncio.Semaphore(0)
    sqlite = SQLiteTimeSeries(tmp_path / "ts.sqlite")
    store = Recording(sqlite, gate)
    spool = PointSpool(tmp_path / "spool.sqlite")
    writer = BatchingWriter(
        store, batch_size=5, flush_interval_s=0.01, spool=spool, spill_at_points=20
    )
    async with writer:
        writer.submit(batch(0, 5))
        await asyncio.sleep(0.05)  # that batch is being written, held at the gate
        writer.submit(batch(5, 40))
        await asyncio.sleep(0.05)
        assert (writer.buffered, writer.spooled) == (45, 0)  # no spilling during a write
        gate.release()
        await eventually(lambda: writer.spooled == 40)
        assert (writer.written, writer.buffered) == (5, 0)
        for _ in range(100):
            gate.release()
        await writer.drain()
    assert store.order == list(range(45))
    assert (writer.written, writer.dropped, writer.spooled) == (45, 0, 0)
    await sqlite.close()


async def test_a_full_spool_drops_the_oldest_points_and_counts_them(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite"
    bound = 30 * spooled_size(batch(0, 1)[0])
    down = InfluxTimeSeries(f"http://127.0.0.1:{free_port()}")
    writer = BatchingWriter(
        down, batch_size=10, flush_interval_s=0.01, spool=PointSpool(path, bound),
        close_timeout_s=0.3, **FAST_RETRY,
    )  # fmt: skip
    async with writer:
        writer.submit(batch(0, 100))
    assert (writer.written, writer.dropped, writer.spooled) == (0, 70, 30)
    await down.close()

    sqlite = SQLiteTimeSeries(tmp_path / "ts.sqlite")
    spool = PointSpool(path, bound)
    async with BatchingWriter(sqlite, spool=spool) as drainer:
        await drainer.drain()
    assert spool.dropped_total == 70
    assert await stored(sqlite) == list(range(70, 100))
    await sqlite.close()


async def test_while_the_spool_fails_points_wait_in_memory(
    tmp_path: Path, own_influxdb: InfluxDB, influx: InfluxTimeSeries
) -> None:
    spool = BreakableSpool(tmp_path / "spool.sqlite")
    writer = BatchingWriter(influx, batch_size=10, flush_interval_s=0.02, spool=spool, **FAST_RETRY)
    async with writer:
        await asyncio.to_thread(own_influxdb.stop)
        spool.broken = True
        writer.submit(batch(0, 50))
        await eventually(lambda: writer.retries >= 2)
        assert (writer.buffered, writer.spooled, writer.dropped) == (50, 0, 0)
        with pytest.raises(TimeoutError):  # in memory only: not safe yet
            await asyncio.wait_for(writer.flush(), 0.3)
        spool.broken = False  # tried again after max_backoff_s
        await asyncio.wait_for(writer.flush(), 5)
        assert (writer.buffered, writer.spooled) == (0, 50)
        await asyncio.to_thread(own_influxdb.start)
        await asyncio.wait_for(writer.drain(), 30)
    assert (writer.written, writer.dropped, writer.spooled) == (50, 0, 0)
    assert await stored(influx) == list(range(50))


async def test_with_the_backend_up_nothing_goes_to_disk(tmp_path: Path) -> None:
    sqlite = SQLiteTimeSeries(tmp_path / "ts.sqlite")
    spool = BreakableSpool(tmp_path / "spool.sqlite")
    spool.broken = True  # any append would be an error
    async with BatchingWriter(sqlite, batch_size=100, spool=spool) as writer:
        for first in range(0, 1000, 50):
            writer.submit(batch(first, 50))
        await writer.drain()
    assert (writer.written, writer.dropped, writer.spooled) == (1000, 0, 0)
    await sqlite.close()


async def test_a_spool_that_cannot_be_opened_stops_start_up(tmp_path: Path) -> None:
    sqlite = SQLiteTimeSeries(tmp_path / "ts.sqlite")
    path = tmp_path / "spool.sqlite"
    async with PointSpool(path):  # held by another process
        writer = BatchingWriter(sqlite, spool=PointSpool(path))
        with pytest.raises(SpoolError, match="in use by another process"):
            await writer.start()
    await sqlite.close()
