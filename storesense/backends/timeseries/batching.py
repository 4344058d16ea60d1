"""Write points in batches from a bounded buffer, riding out backend outages.

`submit` never blocks: it appends to a buffer in memory. One background task writes a batch
when `batch_size` points wait or every `flush_interval_s`. While the backend is unavailable
the batch is retried with capped exponential backoff and new points keep buffering.

Without a spool, points wait in memory and past `max_buffered_points` the oldest are dropped
and counted; `close` counts what it could not write as dropped. With a `PointSpool` the same
task moves them to disk instead: everything in memory as soon as the backend is unavailable
(and whenever memory holds more than `spill_at_points`), then, once the backend answers, it
writes the spool back oldest first before newer points. A spool left by an earlier process is
written the same way, and `close` spools what it could not write. If the spool itself fails
(disk full), points stay in memory as without one, and the spool is tried again later. The
task spills between writes, so while one write hangs (up to the store's timeout) memory is
still bounded by `max_buffered_points`.

Points are therefore written in the order they came: the spool's, then memory's. Spool and
memory are handled by this one task, so a batch is never written and spooled at once.

`flush` waits until points are safe (written, or on disk in the spool): what a caller needs
before acknowledging their source. `drain` waits until they are written to the backend.

`flush(deadline_s)` bounds that wait when the backend is slow rather than down: once a flush
has waited `deadline_s`, the task makes what it waits for durable in the spool while the write
in flight goes on. Points still in memory move to the spool (written from there later, as after
an outage); the batch being written is copied there too, in the same fsynced transaction. When
that write succeeds the copy is removed again; when it fails, the copy is what gets written.
A copy that cannot be removed is written a second time, which stores the same points once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from storesense.backends.timeseries.base import Point, PointsRejected, TimeSeriesStore
from storesense.backends.timeseries.spool import PointSpool, SpoolBatch, SpoolError
from storesense.errors import BackendUnavailable

logger = logging.getLogger(__name__)

_DROP_LOG_INTERVAL_S = 10.0


def backoff_delay(attempt: int, initial_s: float, max_s: float) -> float:
    """Seconds to wait before retry `attempt` (0-based): doubling from initial_s, capped at max_s,
    with jitter so that writers reconnecting after an outage do not arrive together."""
    ceiling = min(max_s, initial_s * 2 ** min(attempt, 64))
    return random.uniform(ceiling / 2, ceiling)


@dataclass(slots=True)
class _Run:
    """Consecutive points (by submission number) held somewhere, oldest first."""

    first: int
    count: int


@dataclass(slots=True)
class _Copy:
    """The batch being written from memory also sits in the spool: `run` among the spool's
    runs (its oldest), in rows up to `last_id`."""

    run: _Run
    last_id: int


class _Stopped(Exception):
    """close() interrupted a write."""


class BatchingWriter:
    """Batches points into `store`; counters: written, dropped, rejected, retries, buffered
    (in memory) and spooled (on disk)."""

    def __init__(
        self,
        store: TimeSeriesStore,
        batch_size: int = 5000,
        flush_interval_s: float = 0.2,
        max_buffered_points: int = 500_000,
        *,
        spool: PointSpool | None = None,
        spill_at_points: int | None = None,
        initial_backoff_s: float = 0.2,
        max_backoff_s: float = 10.0,
        close_timeout_s: float = 10.0,
    ) -> None:
        if batch_size < 1 or max_buffered_points < 1 or flush_interval_s <= 0:
            raise ValueError("batch_size and max_buffered_points must be >= 1, interval > 0")
        self.store = store
        self.spool = spool
        self.batch_size = min(batch_size, max_buffered_points)
        self.flush_interval_s = flush_interval_s
        self.max_buffered_points = max_buffered_points
        # With a spool, memory past this goes to disk even while the backend answers (slowly).
        self.spill_at_points = spill_at_points or max(1, max_buffered_points // 2)
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.close_timeout_s = close_timeout_s
        self.written = 0  # stored by the backend
        self.dropped = 0  # lost: memory or spool full, unreadable in the spool, unwritten at close
        self.rejected = 0  # refused by the backend as invalid (never retried)
        self.retries = 0  # failed attempts that were retried
        self.secured = 0  # points put in the spool because a flush passed its deadline
        self.secures = 0  # how many times that happened
        # Points are numbered in submission order; flush() and drain() wait for a number.
        # Memory: `_buffer` ends at number `_submitted`; `_held` are runs taken from its front
        # (being written, or failed to spool), which overflow never drops.
        self._buffer: deque[Point] = deque()
        self._held: deque[tuple[int, list[Point]]] = deque()
        self._held_count = 0
        self._submitted = 0
        # Disk: the numbers of the spool's points, oldest first. Points found in the spool at
        # start-up are numbered before everything in memory.
        self._spooled_runs: deque[_Run] = deque()
        # flush() and drain() callers: (target number, durable is enough, future).
        self._waiters: list[tuple[int, bool, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        # A flush passed its deadline: make memory durable in the spool during the write.
        self._secure_wanted = False
        self._secure_signal: asyncio.Future[None] | None = None  # set while a write is awaited
        self._copy: _Copy | None = None  # the batch in flight, when it has a copy in the spool
        self._stop: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._attempt = 0  # consecutive failed writes
        self._retry_at: float | None = None  # set while the backend is unavailable
        self._spool_retry_at = 0.0  # after a spool failure, leave it alone until then
        self._unlogged_drops = 0
        self._last_drop_log = -_DROP_LOG_INTERVAL_S

    @property
    def buffered(self) -> int:
        """Points in memory, not yet written, rejected, dropped or spooled."""
        return len(self._buffer) + self._held_count

    @property
    def spooled(self) -> int:
        """Points in the spool on disk, including any left there by an earlier process."""
        return self.spool.count if self.spool is not None else 0

    def submit(self, points: Iterable[Point]) -> None:
        """Queue points for writing; never blocks, never raises for a full buffer."""
        before = len(self._buffer)
        self._buffer.extend(points)
        self._submitted += len(self._buffer) - before
        overflow = min(self.buffered - self.max_buffered_points, len(self._buffer))
        if overflow > 0:
            # Held points are kept: they are already being written or spooled.
            for _ in range(overflow):
                self._buffer.popleft()
            self.dropped += overflow
            self._log_drops(overflow)
            self._settle()
        if len(self._buffer) >= min(self.batch_size, self.spill_at_points):
            self._wake.set()

    async def flush(self, deadline_s: float | None = None) -> None:
        """Wait until every point submitted so far is safe: written, rejected or dropped (and
        counted), or on disk in the spool. Without a spool this is `drain`.

        With `deadline_s` and a spool, a write that takes longer is not waited out: past the
        deadline the points are put in the spool (fsynced), and flush returns once they are."""
        waiter = self._register(self._submitted, durable=True)
        if waiter is None:
            return
        if deadline_s is not None and self.spool is not None:
            done, _ = await asyncio.wait((waiter,), timeout=deadline_s)
            if not done:
                self._secure_wanted = True
                if self._secure_signal is not None and not self._secure_signal.done():
                    self._secure_signal.set_result(None)
                self._wake.set()
        await waiter

    async def drain(self) -> None:
        """Wait until every point submitted so far, and every point spooled before them, is
        written to the backend (or rejected or dropped)."""
        await self._wait_for(self._submitted, durable=False)

    async def _wait_for(self, target: int, durable: bool) -> None:
        waiter = self._register(target, durable)
        if waiter is not None:
            await waiter

    def _register(self, target: int, durable: bool) -> asyncio.Future[None] | None:
        """A future set once the points before `target` are settled; None when they are."""
        if self._settled_before(durable) >= target:
            return None
        if self._task is None or self._task.done():
            raise RuntimeError("BatchingWriter is not running: use `async with writer:` or start()")
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((target, durable, waiter))
        self._wake.set()
        return waiter

    async def start(self) -> None:
        """Open the spool (SpoolError when it cannot be) and start writing, the spool first."""
        if self._task is not None:
            return
        if self.spool is not None:
            await self.spool.open()
            if self.spool.count:
                oldest = self._settled_before(durable=True)
                self._spooled_runs.appendleft(_Run(oldest - self.spool.count, self.spool.count))
                logger.info(
                    "timeseries_spool_recovering points=%d path=%s",
                    self.spool.count,
                    self.spool.path,
                )
        self._stop = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(), name="timeseries-batching-writer")

    async def close(self) -> None:
        """Write what is waiting (for up to close_timeout_s), then stop. What is still
        unwritten goes to the spool, or without one is counted as dropped."""
        if self._task is None:
            return
        task = self._task
        try:
            async with asyncio.timeout(self.close_timeout_s):
                await self.drain()
        except TimeoutError:
            pass
        finally:
            assert self._stop is not None
            if not self._stop.done():
                self._stop.set_result(None)
            self._wake.set()
            try:
                await asyncio.wait((task,))  # it spools what is left in memory, then ends
            except asyncio.CancelledError:
                task.cancel()
                raise
            finally:
                self._task = None
                await self._after_stop()
        if not task.cancelled():
            task.result()  # a bug in the writer surfaces here

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

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.done()

    async def _run(self) -> None:
        while not self._stopping():
            if not (self._may_write() and self._has_batch()):
                # A wake-up set before this task first ran, or while it wrote, is kept.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._wait_s()):
                        await self._wake.wait()
            self._wake.clear()
            if self._stopping():
                break
            await self._spill_if_needed()
            # One write per wake-up (the interval passed, a batch filled, or someone flushes);
            # more only while full batches wait or a flush does, so that steady traffic is
            # written in batches rather than as whatever trickled in during the last write.
            first = True
            while (
                self._has_work()
                and self._may_write()
                and not self._stopping()
                and (first or self._has_batch() or self._waiters)
            ):
                first = False
                await self._write_next()
                await self._spill_if_needed()
        if self.spool is not None and self.buffered:
            await self._spill()

    async def _after_stop(self) -> None:
        lost = self.buffered
        if lost:
            logger.error(
                "timeseries_points_lost_at_close points=%d timeout_s=%s spool=%s",
                lost,
                self.close_timeout_s,
                self.spool.path if self.spool is not None else None,
            )
            self.dropped += lost
            self._buffer.clear()
            self._held.clear()
            self._held_count = 0
        if self.spool is not None:
            if self.spool.count:
                logger.warning(
                    "timeseries_points_left_in_spool points=%d path=%s",
                    self.spool.count,
                    self.spool.path,
                )
            await self.spool.close()
        # The spool is someone else's from here on: a later start() numbers it afresh.
        self._spooled_runs.clear()
        self._attempt, self._retry_at, self._spool_retry_at = 0, None, 0.0
        self._secure_wanted, self._copy = False, None
        for _, _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters = []

    def _may_write(self) -> bool:
        return self._retry_at is None or time.monotonic() >= self._retry_at

    def _spool_usable(self) -> bool:
        return self.spool is not None and time.monotonic() >= self._spool_retry_at

    def _spool_backlog(self) -> bool:
        return self.spool is not None and self.spool.count > 0 and self._spool_usable()

    def _has_batch(self) -> bool:
        return bool(self._held) or self._spool_backlog() or len(self._buffer) >= self.batch_size

    def _has_work(self) -> bool:
        return bool(self._held or self._buffer) or self._spool_backlog()

    def _wait_s(self) -> float:
        if self._retry_at is None:
            return self.flush_interval_s
        return max(0.0, min(self.flush_interval_s, self._retry_at - time.monotonic()))

    async def _spill_if_needed(self) -> None:
        pressed = self._retry_at is not None or self.buffered > self.spill_at_points
        if pressed and self.buffered and self._spool_usable():
            await self._spill()

    async def _spill(self) -> None:
        """Move everything in memory to the spool, oldest first, a batch per transaction."""
        assert self.spool is not None
        while self._held or self._buffer:
            if not self._held:
                self._hold(min(self.batch_size, len(self._buffer)))
            first, points = self._held[0]
            try:
                dropped = await self.spool.append(points)
            except SpoolError as exc:
                self._spool_failed("append", exc)
                return
            self._release_held()
            self._spooled_runs.append(_Run(first, len(points)))
            if dropped:
                # The spool logs these; here they join the other losses.
                self.dropped += dropped
                self._settle_spooled(dropped)
            self._settle()

    async def _write_next(self) -> None:
        """Write one batch: the spool's oldest points if it has any, else memory's."""
        if self._spool_backlog():
            await self._write_from_spool()
            return
        if not self._held:
            self._hold(min(self.batch_size, len(self._buffer)))
        written = await self._write(self._held[0][1], from_memory=True)
        copy, self._copy = self._copy, None
        if written:
            self._release_held()
            if copy is not None:
                await self._remove_copy(copy)
            self._settle()
        elif copy is not None:
            # Not written (yet): the copy in the spool is written in their place.
            self._release_held()
            self._settle()

    async def _write_from_spool(self) -> None:
        assert self.spool is not None
        try:
            batch = await self.spool.read(self.batch_size)
        except SpoolError as exc:
            self._spool_failed("read", exc)
            return
        if batch.points and not await self._write(batch.points):
            return
        try:
            await self.spool.remove(batch)
        except SpoolError as exc:
            # Written but still spooled: written again later, which stores them once.
            self._spool_failed("remove", exc)
            return
        self.dropped += batch.unreadable
        self._settle_spooled(batch.rows)
        self._settle()

    async def _write(self, points: list[Point], from_memory: bool = False) -> bool:
        """One attempt; True when the backend answered (written or rejected), False when it
        is unavailable (retry after the backoff) or close() interrupted the write."""
        count = len(points)
        try:
            await self._unless_stopped(self.store.write(points), from_memory)
        except _Stopped:
            return False
        except BackendUnavailable as exc:
            delay = backoff_delay(self._attempt, self.initial_backoff_s, self.max_backoff_s)
            self._attempt += 1
            self.retries += 1
            self._retry_at = time.monotonic() + delay
            logger.warning(
                "timeseries_write_retry attempt=%d delay_s=%.2f points=%d buffered=%d "
                "spooled=%d error=%r",
                self._attempt,
                delay,
                count,
                self.buffered,
                self.spooled,
                str(exc),
            )
            return False
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
            if self._attempt:
                logger.info(
                    "timeseries_write_recovered attempts=%d points=%d spooled=%d",
                    self._attempt,
                    count,
                    self.spooled,
                )
        self._attempt, self._retry_at = 0, None
        return True

    async def _unless_stopped(self, write: Coroutine[Any, Any, None], from_memory: bool) -> None:
        """Await the write, cancelling it if close() stops the writer first. Meanwhile, when
        a flush passes its deadline, secure memory in the spool (`held[0]` is what is being
        written when `from_memory`)."""
        assert self._stop is not None
        task = asyncio.ensure_future(write)
        try:
            while not task.done() and not self._stop.done():
                if self._secure_wanted:
                    self._secure_wanted = False
                    if self._secure_needed():
                        await self._secure(from_memory)
                    continue
                self._secure_signal = asyncio.get_running_loop().create_future()
                try:
                    await asyncio.wait(
                        (task, self._stop, self._secure_signal),
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    self._secure_signal = None
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait((task,))
        if task.cancelled():
            raise _Stopped
        task.result()

    def _secure_needed(self) -> bool:
        """A flush waits for points that are not durable yet, and the spool can take them."""
        return (
            self._spool_usable()
            and any(durable and not waiter.done() for _, durable, waiter in self._waiters)
            and self._settled_before(durable=True) < self._submitted
        )

    async def _secure(self, in_flight: bool) -> None:
        """Make every point in memory durable in the spool, in one transaction: move those not
        being written, and copy `held[0]` when `in_flight` (its write goes on meanwhile)."""
        assert self.spool is not None
        # A copy is removed by id once written, so it must be the spool's oldest rows.
        copy = self._held[0] if in_flight and self._copy is None and self._held else None
        if copy is not None and self.spool.count:
            copy = None
        start = 1 if in_flight and self._held else 0
        if self._buffer:
            self._hold(len(self._buffer))
        moving = list(itertools.islice(self._held, start, None))
        points = list(copy[1]) if copy is not None else []
        for _, held in moving:
            points.extend(held)
        if not points:
            return
        try:
            dropped = await self.spool.append(points)
        except SpoolError as exc:
            self._spool_failed("append", exc)  # moving stays held, as after a failed spill
            return
        # Nothing else touched `_held` meanwhile: this task is the only one that does.
        for _ in moving:
            self._held.pop()
        if copy is not None:
            run = _Run(copy[0], len(copy[1]))
            self._spooled_runs.appendleft(run)
            self._copy = _Copy(run, self.spool.last_id - (len(points) - run.count))
        for first, held in moving:
            self._held_count -= len(held)
            self._spooled_runs.append(_Run(first, len(held)))
        self.secured += len(points)
        self.secures += 1
        if dropped:
            self.dropped += dropped
            self._settle_spooled(dropped)
        self._settle()

    async def _remove_copy(self, copy: _Copy) -> None:
        """The batch in flight was written: take its copy out of the spool."""
        assert self.spool is not None
        run = copy.run
        if not run.count or not self._spooled_runs or self._spooled_runs[0] is not run:
            return  # dropped to make room in the spool
        try:
            await self.spool.remove(SpoolBatch(points=[], rows=run.count, last_id=copy.last_id))
        except SpoolError as exc:
            # Left in the spool: written again later, which stores the same points once.
            self._spool_failed("remove", exc)
            return
        self._settle_spooled(run.count)

    def _hold(self, count: int) -> None:
        first = self._submitted - len(self._buffer)
        self._held.append((first, [self._buffer.popleft() for _ in range(count)]))
        self._held_count += count

    def _release_held(self) -> None:
        _, points = self._held.popleft()
        self._held_count -= len(points)

    def _settle_spooled(self, count: int) -> None:
        """The spool's `count` oldest points are gone (written, rejected or dropped)."""
        while count and self._spooled_runs:
            run = self._spooled_runs[0]
            taken = min(count, run.count)
            run.first += taken
            run.count -= taken
            count -= taken
            if not run.count:
                self._spooled_runs.popleft()

    def _spool_failed(self, action: str, exc: SpoolError) -> None:
        assert self.spool is not None
        self._spool_retry_at = time.monotonic() + self.max_backoff_s
        logger.error(
            "timeseries_spool_failed action=%s retry_in_s=%.1f buffered=%d error=%r",
            action,
            self.max_backoff_s,
            self.buffered,
            str(exc),
        )

    def _settled_before(self, durable: bool) -> int:
        """The number of the oldest point not yet written (or rejected or dropped), or with
        `durable` not yet safe (also not spooled); every point before it is."""
        # Spooled points are older than held ones, which are older than the buffer's; except
        # points moved to the spool while an older batch was being written from memory.
        if not self._held:
            memory = self._submitted - len(self._buffer)
        elif durable and self._copy is not None:
            # The batch in flight is also in the spool: durable.
            later = self._submitted - len(self._buffer)
            memory = self._held[1][0] if len(self._held) > 1 else later
        else:
            memory = self._held[0][0]
        if durable or not self._spooled_runs:
            return memory
        return min(self._spooled_runs[0].first, memory)

    def _settle(self) -> None:
        """Wake the flush() and drain() callers whose points are all settled."""
        safe, written = self._settled_before(durable=True), self._settled_before(durable=False)
        waiting = []
        for target, durable, waiter in self._waiters:
            if waiter.done():
                continue
            if target <= (safe if durable else written):
                waiter.set_result(None)
            else:
                waiting.append((target, durable, waiter))
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
