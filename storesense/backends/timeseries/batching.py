"""Write points in batches from a bounded buffer, riding out backend outages.

`submit` never blocks: it appends to the buffer. One background task writes a batch when
`batch_size` points wait or every `flush_interval_s`. While the backend is unavailable the
batch being written is retried with capped exponential backoff and new points keep
buffering; past `max_buffered_points` the oldest buffered points are dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Iterable
from types import TracebackType

from storesense.backends.timeseries.base import Point, PointsRejected, TimeSeriesStore
from storesense.errors import BackendUnavailable

logger = logging.getLogger(__name__)

_DROP_LOG_INTERVAL_S = 10.0


def backoff_delay(attempt: int, initial_s: float, max_s: float) -> float:
    """Seconds to wait before retry `attempt` (0-based): doubling from initial_s, capped at max_s,
    with jitter so that writers reconnecting after an outage do not arrive together."""
    ceiling = min(max_s, initial_s * 2 ** min(attempt, 64))
    return random.uniform(ceiling / 2, ceiling)


class BatchingWriter:
    """Batches points into `store`; counters: written, dropped, rejected, retries, buffered."""

    def __init__(
        self,
        store: TimeSeriesStore,
        batch_size: int = 5000,
        flush_interval_s: float = 0.2,
        max_buffered_points: int = 500_000,
        *,
        initial_backoff_s: float = 0.2,
        max_backoff_s: float = 10.0,
        close_timeout_s: float = 10.0,
    ) -> None:
        if batch_size < 1 or max_buffered_points < 1 or flush_interval_s <= 0:
            raise ValueError("batch_size and max_buffered_points must be >= 1, interval > 0")
        self.store = store
        self.batch_size = min(batch_size, max_buffered_points)
        self.flush_interval_s = flush_interval_s
        self.max_buffered_points = max_buffered_points
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.close_timeout_s = close_timeout_s
        self.written = 0  # stored by the backend
        self.dropped = 0  # lost to a full buffer, or still unwritten when closed
        self.rejected = 0  # refused by the backend as invalid (never retried)
        self.retries = 0  # failed attempts that were retried
        self._buffer: deque[Point] = deque()
        self._in_flight: list[Point] = []
        # Points are numbered in submission order; flush() waits for a number to be settled.
        self._submitted = 0
        self._in_flight_first = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unlogged_drops = 0
        self._last_drop_log = -_DROP_LOG_INTERVAL_S

    @property
    def buffered(self) -> int:
        """Points submitted but not yet written, rejected or dropped."""
        return len(self._buffer) + len(self._in_flight)

    def submit(self, points: Iterable[Point]) -> None:
        """Queue points for writing; never blocks, never raises for a full buffer."""
        before = len(self._buffer)
        self._buffer.extend(points)
        self._submitted += len(self._buffer) - before
        overflow = min(self.buffered - self.max_buffered_points, len(self._buffer))
        if overflow > 0:
            # The batch in flight is kept: it is already being written.
            for _ in range(overflow):
                self._buffer.popleft()
            self.dropped += overflow
            self._log_drops(overflow)
            self._settle()
        if len(self._buffer) >= self.batch_size:
            self._wake.set()

    async def flush(self) -> None:
        """Wait until every point submitted so far is written (or rejected or dropped)."""
        target = self._submitted
        if self._oldest_unsettled() >= target:
            return
        if self._task is None or self._task.done():
            raise RuntimeError("BatchingWriter is not running: use `async with writer:` or start()")
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((target, waiter))
        self._wake.set()
        await waiter

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="timeseries-batching-writer")

    async def close(self) -> None:
        """Write what is buffered (waiting up to close_timeout_s), then stop."""
        if self._task is None:
            return
        try:
            async with asyncio.timeout(self.close_timeout_s):
                await self.flush()
        except TimeoutError:
            pass
        finally:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            lost = self.buffered
            if lost:
                logger.error(
                    "timeseries_points_lost_at_close points=%d timeout_s=%s",
                    lost,
                    self.close_timeout_s,
                )
                self.dropped += lost
                self._buffer.clear()
                self._in_flight = []
                self._settle()

    async def __aenter__(self) -> BatchingWriter:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _run(self) -> None:
        while True:
            if len(self._buffer) < self.batch_size:
                # A wake-up set before this task first ran, or while it wrote, is kept.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.flush_interval_s):
                        await self._wake.wait()
            self._wake.clear()
            while self._buffer:
                await self._write_batch()

    async def _write_batch(self) -> None:
        self._in_flight_first = self._submitted - len(self._buffer)
        count = min(self.batch_size, len(self._buffer))
        self._in_flight = [self._buffer.popleft() for _ in range(count)]
        attempt = 0
        while True:
            try:
                await self.store.write(self._in_flight)
            except BackendUnavailable as exc:
                delay = backoff_delay(attempt, self.initial_backoff_s, self.max_backoff_s)
                attempt += 1
                self.retries += 1
                logger.warning(
                    "timeseries_write_retry attempt=%d delay_s=%.2f points=%d buffered=%d error=%r",
                    attempt,
                    delay,
                    count,
                    self.buffered,
                    str(exc),
                )
                await asyncio.sleep(delay)
                continue
            except PointsRejected as exc:
                rejected = min(exc.dropped, count)
                self.rejected += rejected
                self.written += count - rejected
                logger.error("timeseries_points_rejected points=%d error=%r", rejected, str(exc))
            except Exception:
                # A bug, not an outage: retrying would stall every later point behind it.
                self.rejected += count
                logger.exception("timeseries_write_failed points=%d", count)
            else:
                self.written += count
                if attempt:
                    logger.info("timeseries_write_recovered attempts=%d points=%d", attempt, count)
            break
        self._in_flight = []
        self._settle()

    def _oldest_unsettled(self) -> int:
        if self._in_flight:
            return self._in_flight_first
        return self._submitted - len(self._buffer)

    def _settle(self) -> None:
        """Wake the flush() callers whose points are all settled."""
        oldest = self._oldest_unsettled()
        waiting = []
        for target, waiter in self._waiters:
            if waiter.done():
                continue
            if target <= oldest:
                waiter.set_result(None)
            else:
                waiting.append((target, waiter))
        self._waiters = waiting

    def _log_drops(self, count: int) -> None:
        self._unlogged_drops += count
        now = time.monotonic()
        if now - self._last_drop_log >= _DROP_LOG_INTERVAL_S:
            logger.warning(
                "timeseries_buffer_full dropped=%d dropped_total=%d max_buffered_points=%d",
                self._unlogged_drops,
                self.dropped,
                self.max_buffered_points,
            )
            self._unlogged_drops = 0
            self._last_drop_log = now
