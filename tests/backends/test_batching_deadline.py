"""flush(deadline_s): a slow InfluxDB (a real one behind a delaying proxy) does not hold a flush
past its deadline; the points are spooled instead, and each is still stored once, in order."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from storesense.backends.timeseries import BatchingWriter, PointSpool
from storesense.backends.timeseries.influx import InfluxTimeSeries
from tests.backends.slow_proxy import DelayingProxy
from tests.backends.timeseries_helpers import batch, numbers, stored
from tests.servers import InfluxDB

FAST_RETRY: dict[str, Any] = {"initial_backoff_s": 0.05, "max_backoff_s": 0.2}
DEADLINE_S = 0.03


@pytest.fixture
async def proxy(own_influxdb: InfluxDB) -> AsyncIterator[DelayingProxy]:
    server = DelayingProxy(own_influxdb.port)
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def database() -> str:
    return f"t_{uuid.uuid4().hex}"


@pytest.fixture
async def slow(proxy: DelayingProxy, database: str) -> AsyncIterator[InfluxTimeSeries]:
    """InfluxDB through the proxy: as slow as `proxy.delay_s`."""
    store = InfluxTimeSeries(proxy.url, database=database)
    yield store
    await store.close()


@pytest.fixture
async def direct(own_influxdb: InfluxDB, database: str) -> AsyncIterator[InfluxTimeSeries]:
    """The same database without the proxy, to check what was stored."""
    store = InfluxTimeSeries(own_influxdb.url, database=database)
    yield store
    await store.close()


async def timed_flush(writer: BatchingWriter, deadline_s: float | None) -> float:
    started = time.monotonic()
    await writer.flush(deadline_s)
    return time.monotonic() - started


async def test_a_flush_past_its_deadline_returns_once_spooled_and_every_point_lands_once(
    tmp_path: Path, proxy: DelayingProxy, slow: InfluxTimeSeries, direct: InfluxTimeSeries
) -> None:
    writer = BatchingWriter(
        slow, batch_size=50, flush_interval_s=0.02, spool=PointSpool(tmp_path / "spool.sqlite")
    )
    async with writer:
        writer.submit(batch(0, 10))
        await writer.flush()  # creates the database: not timed
        proxy.delay_s = 0.6
        waits = []
        for first in range(10, 310, 20):
            writer.submit(batch(first, 20))
            waits.append(await timed_flush(writer, DEADLINE_S))
        # Every flush returned long before a write could have answered; the points were
        # spooled, or were part of a write in flight that has a copy in the spool.
        assert max(waits) < 0.4, waits
        assert writer.secures > 0 and writer.secured >= 300 - 50
        assert writer.dropped == 0
        # Without a deadline a flush waits for the write.
        writer.submit(batch(310, 10))
        assert await timed_flush(writer, None) >= 0.5
        proxy.delay_s = 0
        await asyncio.wait_for(writer.drain(), 30)
        # Written once each: copies of batches whose write went through were not written again.
        assert (writer.written, writer.dropped, writer.buffered, writer.spooled) == (320, 0, 0, 0)
    assert await stored(direct) == list(range(320))


async def test_a_slow_write_that_fails_is_replaced_by_its_copy_in_the_spool(
    tmp_path: Path,
    own_influxdb: InfluxDB,
    proxy: DelayingProxy,
    slow: InfluxTimeSeries,
    direct: InfluxTimeSeries,
) -> None:
    writer = BatchingWriter(
        slow,
        batch_size=50,
        flush_interval_s=0.02,
        spool=PointSpool(tmp_path / "spool.sqlite"),
        **FAST_RETRY,
    )
    async with writer:
        writer.submit(batch(0, 10))
        await writer.flush()
        proxy.delay_s = 1.0
        writer.submit(batch(10, 30))
        assert await timed_flush(writer, DEADLINE_S) < 0.5
        # The write of those 30 points is still on its way; InfluxDB goes down under it.
        assert writer.buffered == 30 and writer.spooled == 30
        await asyncio.to_thread(own_influxdb.stop)
        writer.submit(batch(40, 10))
        assert await timed_flush(writer, DEADLINE_S) < 1.0
        proxy.delay_s = 0
        await asyncio.to_thread(own_influxdb.start)
        await asyncio.wait_for(writer.drain(), 30)
        assert writer.retries > 0
        assert (writer.written, writer.dropped, writer.buffered, writer.spooled) == (50, 0, 0, 0)
    assert await stored(direct) == list(range(50))


async def test_points_secured_before_close_are_written_by_the_next_writer(
    tmp_path: Path, proxy: DelayingProxy, slow: InfluxTimeSeries, direct: InfluxTimeSeries
) -> None:
    path = tmp_path / "spool.sqlite"
    first = BatchingWriter(
        slow, batch_size=50, flush_interval_s=0.02, spool=PointSpool(path), close_timeout_s=0.2
    )
    async with first:
        first.submit(batch(0, 10))
        await first.flush()
        proxy.delay_s = 30
        first.submit(batch(10, 20))
        assert await timed_flush(first, DEADLINE_S) < 0.5
        first.submit(batch(30, 5))
        assert await timed_flush(first, DEADLINE_S) < 0.5
    # close() gave up on the write in flight: its copy, and what followed, stay on disk.
    assert (first.written, first.dropped, first.buffered, first.spooled) == (10, 0, 0, 25)
    proxy.delay_s = 0

    async with BatchingWriter(direct, batch_size=7, spool=PointSpool(path)) as second:
        assert second.spooled == 25
        await asyncio.wait_for(second.drain(), 30)
        assert (second.written, second.spooled) == (25, 0)
    assert await stored(direct) == list(range(35))
    async with PointSpool(path) as reopened:
        assert numbers((await reopened.read(100)).points) == []
