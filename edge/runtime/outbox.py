"""Durable outbox: a FIFO of encoded events in SQLite that survives broker outages, process
kills and power loss, bounded in size.

- `append` commits before it returns (WAL, `synchronous=FULL`: the commit is on disk, not
  only in the page cache, because edge boxes lose power when a store closes or a cable is
  pulled; one fsync per append is cheap at agent rates of tens of events per second).
- `peek_batch` reads the oldest events in order without removing them; `ack` deletes them,
  called only once the broker has acknowledged (PUBACK).
- Cap policy: at most `max_events` events and `max_bytes` payload bytes. Past either, the
  OLDEST events are dropped (the newest matter most for live alerts), counted in a
  persisted counter (`dropped`, reported in the status heartbeat) and logged. The file
  itself stays near `max_bytes` plus SQLite's page overhead: deleted pages are reused and
  the WAL is truncated after checkpoints (`journal_size_limit`).

Thread-safe: the agent thread appends while the publisher thread peeks and acks.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from storesense.errors import StoresenseError

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so acks cannot hit newer rows
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters (name, value) VALUES ('dropped', 0);
"""
_WAL_LIMIT_BYTES = 8 * 1024 * 1024
_DROP_LOG_INTERVAL_S = 60.0
# SQLite's default limit on bound parameters is 32766 on recent builds; stay far below.
_ACK_CHUNK = 500


class OutboxError(StoresenseError):
    """The outbox file cannot be opened or written (disk full, permissions, corruption)."""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    seq: int  # increases with every append, across restarts
    payload: bytes


@dataclass(frozen=True, slots=True)
class OutboxStats:
    depth: int  # events waiting for a PUBACK
    bytes: int  # their payload bytes
    dropped: int  # events dropped by the cap since the file was created


class Outbox:
    """A bounded, durable FIFO of event payloads (one JSON event each)."""

    def __init__(
        self,
        path: Path | str,
        *,
        max_events: int = 1_000_000,
        max_bytes: int = 256 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_events < 1 or max_bytes < 1:
            raise ValueError("outbox max_events and max_bytes must be at least 1")
        self.path = Path(path)
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._unreported_drops = 0
        self._last_drop_log = float("-inf")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # check_same_thread=False: the lock below serialises every use of the connection.
            self._db: sqlite3.Connection | None = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT_BYTES}")
            self._db.executescript(_SCHEMA)
            depth, size = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox"
            ).fetchone()
            (dropped,) = self._db.execute(
                "SELECT value FROM counters WHERE name = 'dropped'"
            ).fetchone()
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open outbox {self.path}: {exc}") from exc
        self._depth = int(depth)
        self._bytes = int(size)
        self._dropped = int(dropped)
        log.info(
            "outbox opened path=%s depth=%d bytes=%d dropped_total=%d max_events=%d max_bytes=%d",
            self.path, self._depth, self._bytes, self._dropped, max_events, max_bytes,
        )  # fmt: skip
        with self._lock:
            self._enforce_cap_on_open()

    def append(self, payloads: Sequence[bytes]) -> int:
        """Store payloads in one transaction, durable when this returns; return how many of
        the oldest events the cap dropped to make room (0 normally)."""
        if not payloads:
            return 0
        with self._lock:
            db = self._conn()
            try:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT INTO outbox (payload) VALUES (?)", ((p,) for p in payloads))
                depth = self._depth + len(payloads)
                size = self._bytes + sum(len(p) for p in payloads)
                dropped, freed = self._drop_oldest(db, depth, size)
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback(db)
                raise OutboxError(f"cannot write outbox {self.path}: {exc}") from exc
            self._depth = depth - dropped
            self._bytes = size - freed
            if dropped:
                self._dropped += dropped
                self._log_drops(dropped)
            return dropped

    def peek_batch(self, max_events: int, max_bytes: int, after: int = 0) -> list[OutboxEntry]:
        """The oldest events with `seq > after`, in order: at most `max_events`, and together
        with one byte per event (a JSON array's brackets and commas) at most `max_bytes`.
        Always at least one event when any is waiting, so one large event cannot block."""
        with self._lock:
            rows = self._conn().execute(
                "SELECT seq, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, max_events),
            )
            batch: list[OutboxEntry] = []
            used = 1
            try:
                for seq, payload in rows:
                    used += len(payload) + 1
                    if batch and used > max_bytes:
                        break
                    batch.append(OutboxEntry(int(seq), bytes(payload)))
            finally:
                rows.close()
            return batch

    def ack(self, seqs: Iterable[int]) -> int:
        """Delete acknowledged events; return how many were still there (the cap may have
        dropped some meanwhile)."""
        wanted = sorted(set(seqs))
        if not wanted:
            return 0
        with self._lock:
            db = self._conn()
            deleted = freed = 0
            try:
                db.execute("BEGIN IMMEDIATE")
                for start in range(0, len(wanted), _ACK_CHUNK):
                    chunk = wanted[start : start + _ACK_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    for (length,) in db.execute(
                        f"DELETE FROM outbox WHERE seq IN ({marks}) RETURNING LENGTH(payload)",
                        chunk,
                    ):
                        deleted += 1
                        freed += int(length)
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback(db)
                raise OutboxError(f"cannot write outbox {self.path}: {exc}") from exc
            self._depth -= deleted
            self._bytes -= freed
            return deleted

    def stats(self) -> OutboxStats:
        with self._lock:
            return OutboxStats(depth=self._depth, bytes=self._bytes, dropped=self._dropped)

    @property
    def depth(self) -> int:
        with self._lock:
            return self._depth

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                if self._unreported_drops:
                    self._report_drops()
                self._db.close()
                self._db = None

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise OutboxError(f"outbox {self.path} is closed")
        return self._db

    def _drop_oldest(self, db: sqlite3.Connection, depth: int, size: int) -> tuple[int, int]:
        """Inside a transaction: delete the oldest rows until within the cap; return
        (rows dropped, bytes freed) and bump the persisted counter."""
        if depth <= self.max_events and size <= self.max_bytes:
            return 0, 0
        dropped = freed = 0
        last_seq = None
        rows = db.execute("SELECT seq, LENGTH(payload) FROM outbox ORDER BY seq")
        try:
            for seq, length in rows:
                if depth - dropped <= self.max_events and size - freed <= self.max_bytes:
                    break
                dropped += 1
                freed += int(length)
                last_seq = int(seq)
        finally:
            rows.close()
        if last_seq is not None:
            db.execute("DELETE FROM outbox WHERE seq <= ?", (last_seq,))
            db.execute("UPDATE counters SET value = value + ? WHERE name = 'dropped'", (dropped,))
        return dropped, freed

    def _enforce_cap_on_open(self) -> None:
        # A smaller cap in a new config applies to what an older run left behind.
        db = self._conn()
        try:
            db.execute("BEGIN IMMEDIATE")
            dropped, freed = self._drop_oldest(db, self._depth, self._bytes)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(db)
            raise OutboxError(f"cannot write outbox {self.path}: {exc}") from exc
        if dropped:
            self._depth -= dropped
            self._bytes -= freed
            self._dropped += dropped
            self._log_drops(dropped)

    def _log_drops(self, dropped: int) -> None:
        # Never silent, but at most one line a minute while the cap keeps biting.
        self._unreported_drops += dropped
        if self._clock() - self._last_drop_log >= _DROP_LOG_INTERVAL_S:
            self._report_drops()

    def _report_drops(self) -> None:
        log.warning(
            "outbox full, dropped oldest events path=%s dropped=%d dropped_total=%d "
            "depth=%d bytes=%d max_events=%d max_bytes=%d",
            self.path, self._unreported_drops, self._dropped, self._depth, self._bytes,
            self.max_events, self.max_bytes,
        )  # fmt: skip
        self._unreported_drops = 0
        self._last_drop_log = self._clock()

    @staticmethod
    def _rollback(db: sqlite3.Connection) -> None:
        if db.in_transaction:
            db.execute("ROLLBACK")
