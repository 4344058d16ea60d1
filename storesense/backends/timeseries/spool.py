"""A durable FIFO of points on disk, where `BatchingWriter` keeps what the backend cannot take.

One SQLite file in WAL mode, used from one dedicated thread and locked for one process (a
second process opening it gets `SpoolError`). Each point is a row encoded with msgpack, which
keeps int, float, bool and str apart; rows are appended and removed in batches, oldest first.
A commit is fsynced: the points survive a crash of the process and of the machine.

The spool holds at most `max_bytes` of points, counting each as its encoded size plus
`ROW_OVERHEAD_BYTES` (the file itself is somewhat larger: page slack, a WAL of a few MiB). An
append that would pass the bound drops the oldest points instead, counts them in a total kept
in the file and logs them. When the spool empties, its free pages go back to the file system.

One consumer at a time: `read` the oldest points, write them elsewhere, then `remove` them.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import msgspec

from storesense.backends.timeseries.base import Point
from storesense.errors import StoresenseError

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_MAX_BYTES = 1 << 30
# What a row costs beyond its body: cell header, rowid and cell pointer in the b-tree page.
ROW_OVERHEAD_BYTES = 16
_FORMAT_VERSION = 1
_DROP_LOG_INTERVAL_S = 10.0
# Drained transactions leave the WAL large; after a checkpoint SQLite truncates it to this.
_WAL_LIMIT_BYTES = 4 << 20

_SCHEMA = f"""
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS points (id INTEGER PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    points INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    dropped INTEGER NOT NULL
);
INSERT OR IGNORE INTO totals VALUES (1, 0, 0, 0);
PRAGMA user_version = {_FORMAT_VERSION};
COMMIT;
"""


class SpoolError(StoresenseError):
    """The spool file cannot be opened, read or written (disk full, permissions, in use)."""


class _Row(msgspec.Struct, array_like=True, frozen=True):
    measurement: str
    tags: dict[str, str]
    fields: dict[str, bool | int | float | str]
    ts_ns: int


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_Row).decode


def encode_point(point: Point) -> bytes:
    """A point as one spool row body."""
    return _encode(_Row(point.measurement, dict(point.tags), dict(point.fields), point.ts_ns))


def spooled_size(point: Point) -> int:
    """What a point counts against `max_bytes`."""
    return len(encode_point(point)) + ROW_OVERHEAD_BYTES


@dataclass(frozen=True, slots=True)
class SpoolBatch:
    """The oldest points of the spool, read but not yet removed."""

    points: list[Point]
    rows: int  # rows read; more than len(points) when some could not be decoded
    last_id: int  # the rows up to this id make up the batch

    @property
    def unreadable(self) -> int:
        return self.rows - len(self.points)


class PointSpool:
    """The on-disk FIFO; `count`, `bytes` and `dropped_total` (all time) are kept in the file."""

    def __init__(self, path: Path | str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.count = 0  # points in the spool
        self.bytes = 0  # their size as counted against max_bytes
        self.dropped_total = 0  # points ever dropped to respect max_bytes, by any process
        self.last_id = 0  # the row id of the newest point appended by this process
        self._executor: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None
        self._unlogged_drops = 0
        self._last_drop_log = -_DROP_LOG_INTERVAL_S

    async def open(self) -> None:
        """Create or open the file and take its lock; SpoolError when another process has it."""
        if self._executor is not None:
            return
        # One thread owns the connection: disk I/O never blocks the event loop or interleaves.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="timeseries-spool")
        try:
            await self._call(self._open)
        except BaseException:
            await self.close()
            raise
        if self.count:
            logger.info(
                "timeseries_spool_opened path=%s points=%d bytes=%d dropped_total=%d",
                self.path,
                self.count,
                self.bytes,
                self.dropped_total,
            )

    async def append(self, points: Sequence[Point]) -> int:
        """Add points after the newest; return how many of the oldest were dropped for room."""
        if not points:
            return 0
        return await self._call(self._append, list(points))

    async def read(self, limit: int) -> SpoolBatch:
        """The oldest `limit` points, left in place until `remove`. A row that cannot be
        decoded (written by an incompatible version, or damaged) is logged and counted in
        `unreadable`; removing the batch discards it."""
        return await self._call(self._read, limit)

    async def remove(self, batch: SpoolBatch) -> None:
        """Remove a batch returned by `read`, once its points are stored elsewhere."""
        if batch.rows:
            await self._call(self._remove, batch.last_id)

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(executor, self._close)
        finally:
            executor.shutdown(wait=False)

    async def __aenter__(self) -> PointSpool:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError(f"time-series spool {self.path} is not open: call open() first")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, function, *args)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise SpoolError(
                    f"time-series spool {self.path} is in use by another process; give each "
                    "process its own timeseries.spool_path"
                ) from exc
            raise SpoolError(f"time-series spool {self.path}: {exc}") from exc
        except (OSError, sqlite3.Error) as exc:  # disk full, I/O error, not a database
            raise SpoolError(f"time-series spool {self.path}: {exc}") from exc

    # Everything below runs in the spool's thread. Counters are updated there too, after each
    # commit, so that they stay true even when the awaiting task is cancelled.

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, timeout=2.0)
        try:
            # Exclusive: the first access locks the file until close, so two processes never
            # drain (or count) one spool; WAL then keeps its index in memory.
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # takes effect on a new file only
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT_BYTES}")
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version not in (0, _FORMAT_VERSION):
                raise SpoolError(
                    f"time-series spool {self.path} has format {version}, this version reads "
                    f"{_FORMAT_VERSION}; drain it with the version that wrote it, or move it away"
                )
            db.executescript(_SCHEMA)
            self._db = db
            self._load_totals(db)
        except BaseException:
            db.close()
            raise

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db
        assert db is not None, "opened before any call"
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            self._load_totals(db)

    def _load_totals(self, db: sqlite3.Connection) -> None:
        count, size, dropped = db.execute(
            "SELECT points, bytes, dropped FROM totals WHERE id = 1"
        ).fetchone()
        self.count, self.bytes, self.dropped_total = int(count), int(size), int(dropped)

    def _append(self, points: list[Point]) -> int:
        bodies = [encode_point(point) for point in points]
        added = sum(len(body) for body in bodies) + ROW_OVERHEAD_BYTES * len(bodies)
        with self._transaction() as db:
            db.executemany("INSERT INTO points (body) VALUES (?)", [(body,) for body in bodies])
            # The rows of one append have consecutive ids, ending at this one.
            self.last_id = int(db.execute("SELECT max(id) FROM points").fetchone()[0] or 0)
            total = self.bytes + added
            dropped = freed = 0
            if total > self.max_bytes:
                dropped, freed = self._drop_oldest(db, total - self.max_bytes)
            db.execute(
                "UPDATE totals SET points = points + ?, bytes = bytes + ?, dropped = dropped + ?"
                " WHERE id = 1",
                (len(bodies) - dropped, added - freed, dropped),
            )
        if dropped:
            self._log_drops(dropped)
        return dropped

    def _drop_oldest(self, db: sqlite3.Connection, excess: int) -> tuple[int, int]:
        """Delete the fewest oldest rows that free `excess` bytes; return (rows, bytes)."""
        dropped = freed = 0
        last_id = None
        cursor = db.execute(
            f"SELECT id, length(body) + {ROW_OVERHEAD_BYTES} FROM points ORDER BY id"
        )
        try:
            while freed < excess:
                rows = cursor.fetchmany(1000)
                if not rows:
                    break
                for row_id, size in rows:
                    last_id, dropped, freed = row_id, dropped + 1, freed + size
                    if freed >= excess:
                        break
        finally:
            cursor.close()
        if last_id is not None:
            db.execute("DELETE FROM points WHERE id <= ?", (last_id,))
        return dropped, freed

    def _read(self, limit: int) -> SpoolBatch:
        db = self._db
        assert db is not None, "opened before any call"
        rows = db.execute("SELECT id, body FROM points ORDER BY id LIMIT ?", (limit,)).fetchall()
        if not rows and self.count:
            # The totals say points are left but no row is: trust the rows.
            logger.warning(
                "timeseries_spool_totals_repaired path=%s points=%d", self.path, self.count
            )
            with self._transaction() as db:
                db.execute("UPDATE totals SET points = 0, bytes = 0 WHERE id = 1")
        points = []
        first_error: tuple[int, str] | None = None
        for row_id, body in rows:
            try:
                row = _decode(body)
                points.append(Point(row.measurement, row.tags, row.fields, row.ts_ns))
            except (msgspec.DecodeError, ValueError) as exc:
                first_error = first_error or (row_id, str(exc))
        if first_error is not None:
            logger.error(
                "timeseries_spool_unreadable points=%d path=%s first_row=%d error=%r",
                len(rows) - len(points),
                self.path,
                *first_error,
            )
        return SpoolBatch(points=points, rows=len(rows), last_id=rows[-1][0] if rows else 0)

    def _remove(self, last_id: int) -> None:
        with self._transaction() as db:
            count, size = db.execute(
                f"SELECT COUNT(*), TOTAL(length(body) + {ROW_OVERHEAD_BYTES}) FROM points"
                " WHERE id <= ?",
                (last_id,),
            ).fetchone()
            db.execute("DELETE FROM points WHERE id <= ?", (last_id,))
            db.execute(
                "UPDATE totals SET points = points - ?, bytes = bytes - ? WHERE id = 1",
                (int(count), int(size)),
            )
        if self.count == 0:
            # Drained: give the pages back, and the WAL too.
            # incremental_vacuum frees one page per step, and execute() steps once.
            db.executescript("PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);")

    def _close(self) -> None:
        if self._unlogged_drops:
            self._last_drop_log = -_DROP_LOG_INTERVAL_S
            self._log_drops(0)
        if self._db is not None:
            self._db.close()
            self._db = None

    def _log_drops(self, count: int) -> None:
        self._unlogged_drops += count
        now = time.monotonic()
        if now - self._last_drop_log >= _DROP_LOG_INTERVAL_S:
            logger.warning(
                "timeseries_spool_full dropped=%d dropped_total=%d max_bytes=%d path=%s",
                self._unlogged_drops,
                self.dropped_total,
                self.max_bytes,
                self.path,
            )
            self._unlogged_drops = 0
            self._last_drop_log = now
