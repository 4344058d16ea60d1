"""The embedded time-series store: one SQLite file, used from one dedicated thread.

Layout mirrors InfluxDB's: a `series` table holds each (measurement, tag set) once, with the
tags as canonical JSON (sorted key/value pairs, which is also the series key); `points` is
keyed by (series, ts_ns), so a point written again upserts (fields merge, newest wins);
`field_types` pins each field's type per measurement as InfluxDB does. Tag filters select
series in Python (their number is small by design), then rows by series and time.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from storesense.backends.timeseries.base import (
    Point,
    PointsRejected,
    check_key,
    check_query,
    field_type,
)
from storesense.errors import BackendUnavailable

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    measurement TEXT NOT NULL,
    tags TEXT NOT NULL,
    UNIQUE (measurement, tags)
);
CREATE TABLE IF NOT EXISTS points (
    series_id INTEGER NOT NULL,
    ts_ns INTEGER NOT NULL,
    measurement TEXT NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (series_id, ts_ns)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS points_by_time ON points (measurement, ts_ns);
CREATE TABLE IF NOT EXISTS field_types (
    measurement TEXT NOT NULL,
    field TEXT NOT NULL,
    type TEXT NOT NULL,
    PRIMARY KEY (measurement, field)
) WITHOUT ROWID;
"""

_UPSERT = """
INSERT INTO points (series_id, ts_ns, measurement, fields) VALUES (?, ?, ?, ?)
ON CONFLICT (series_id, ts_ns) DO UPDATE SET fields = json_patch(fields, excluded.fields)
"""
_NUMERIC = frozenset({"integer", "float"})


class SQLiteTimeSeries:
    """TimeSeriesStore on a SQLite file (WAL mode), created with its parent dirs on first use."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        # One thread owns the connection: SQLite calls never block the event loop and never
        # interleave.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="timeseries-sqlite")
        self._db: sqlite3.Connection | None = None
        self._series_ids: dict[tuple[str, str], int] = {}
        self._field_types: dict[tuple[str, str], str] = {}
        self._closed = False

    async def write(self, points: Sequence[Point]) -> None:
        if points:
            await self._call(self._write, list(points))

    async def query(
        self,
        measurement: str,
        *,
        start_ns: int,
        end_ns: int,
        tags: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Point]:
        check_query(measurement, start_ns, end_ns, tags, limit)
        if limit == 0:
            return []
        return await self._call(self._query, measurement, start_ns, end_ns, tags, limit)

    async def count(
        self,
        measurement: str,
        *,
        start_ns: int,
        end_ns: int,
        tags: Mapping[str, str] | None = None,
    ) -> int:
        check_query(measurement, start_ns, end_ns, tags)
        return await self._call(self._count, measurement, start_ns, end_ns, tags)

    async def sum(
        self,
        measurement: str,
        field: str,
        *,
        start_ns: int,
        end_ns: int,
        tags: Mapping[str, str] | None = None,
    ) -> float:
        check_query(measurement, start_ns, end_ns, tags)
        check_key(field)
        return await self._call(self._sum, measurement, field, start_ns, end_ns, tags)

    async def close(self) -> None:
        if self._closed:
            return
        await self._call(self._close)
        self._closed = True
        self._executor.shutdown(wait=False)

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise RuntimeError(f"SQLite time series {self.path} is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, function, *args)
        except (OSError, sqlite3.OperationalError) as exc:  # locked, disk full, I/O error
            raise BackendUnavailable(f"SQLite time series {self.path}: {exc}") from exc

    # Everything below runs in the store's thread.

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a crash of the process; a power cut may lose the
            # last transactions, which is acceptable for metrics.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=5000")
            db.executescript(_SCHEMA)
            self._db = db
        return self._db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            # The caches may hold ids and types of the rolled-back transaction.
            self._series_ids.clear()
            self._field_types.clear()
            raise
        db.execute("COMMIT")

    def _write(self, points: list[Point]) -> None:
        conflicts: list[str] = []
        with self._transaction() as db:
            rows = []
            for point in points:
                conflict = self._claim_field_types(db, point)
                if conflict is not None:
                    conflicts.append(conflict)
                    continue
                series_id = self._series_id(db, point.measurement, _series_key(point.tags))
                fields = msgspec.json.encode(point.fields).decode()
                rows.append((series_id, point.ts_ns, point.measurement, fields))
            db.executemany(_UPSERT, rows)
        if conflicts:
            raise PointsRejected(
                f"SQLite time series {self.path} rejected {len(conflicts)} of {len(points)} "
                f"points: {conflicts[0]}",
                dropped=len(conflicts),
            )

    def _claim_field_types(self, db: sqlite3.Connection, point: Point) -> str | None:
        """Record the types of the point's new fields; describe the first type conflict."""
        new: list[tuple[str, str]] = []
        for key, value in point.fields.items():
            given = field_type(value)
            known = self._field_type(db, point.measurement, key)
            if known is None:
                new.append((key, given))
            elif known != given:
                return (
                    f'field type conflict: input field "{key}" on measurement '
                    f'"{point.measurement}" is type {given}, already exists as type {known}'
                )
        for key, given in new:
            db.execute("INSERT INTO field_types VALUES (?, ?, ?)", (point.measurement, key, given))
            self._field_types[point.measurement, key] = given
        return None

    def _field_type(self, db: sqlite3.Connection, measurement: str, field: str) -> str | None:
        known = self._field_types.get((measurement, field))
        if known is None:
            row = db.execute(
                "SELECT type FROM field_types WHERE measurement = ? AND field = ?",
                (measurement, field),
            ).fetchone()
            if row is not None:
                known = self._field_types[measurement, field] = str(row[0])
        return known

    def _series_id(self, db: sqlite3.Connection, measurement: str, key: str) -> int:
        series_id = self._series_ids.get((measurement, key))
        if series_id is None:
            db.execute(
                "INSERT OR IGNORE INTO series (measurement, tags) VALUES (?, ?)", (measurement, key)
            )
            row = db.execute(
                "SELECT id FROM series WHERE measurement = ? AND tags = ?", (measurement, key)
            ).fetchone()
            series_id = self._series_ids[measurement, key] = int(row[0])
        return series_id

    def _matching_series(
        self, db: sqlite3.Connection, measurement: str, tags: Mapping[str, str] | None
    ) -> dict[int, dict[str, str]]:
        wanted = dict(tags or {}).items()
        found = {}
        for series_id, key in db.execute(
            "SELECT id, tags FROM series WHERE measurement = ?", (measurement,)
        ):
            series_tags = dict(msgspec.json.decode(key))
            if wanted <= series_tags.items():
                found[int(series_id)] = series_tags
        return found

    def _select(
        self,
        what: str,
        measurement: str,
        start_ns: int,
        end_ns: int,
        series: Mapping[int, object] | None,
        source: str = "points p",
    ) -> tuple[str, list[Any]]:
        """A SELECT over the time range; `series` (ids) restricts it when tags are filtered."""
        sql = (
            f"SELECT {what} FROM {source} WHERE p.measurement = ? AND p.ts_ns >= ? AND p.ts_ns < ?"
        )
        args: list[Any] = [measurement, start_ns, end_ns]
        if series is not None:
            sql += " AND p.series_id IN (SELECT value FROM json_each(?))"
            args.append(msgspec.json.encode(list(series)).decode())
        return sql, args

    def _query(
        self,
        measurement: str,
        start_ns: int,
        end_ns: int,
        tags: Mapping[str, str] | None,
        limit: int | None,
    ) -> list[Point]:
        db = self._connect()
        series = self._matching_series(db, measurement, tags)
        if not series:
            return []
        sql, args = self._select(
            "p.series_id, p.ts_ns, p.fields",
            measurement,
            start_ns,
            end_ns,
            series if tags else None,
        )
        sql += " ORDER BY p.ts_ns, p.series_id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [
            Point(measurement, dict(series[series_id]), msgspec.json.decode(fields), ts_ns)
            for series_id, ts_ns, fields in db.execute(sql, args)
        ]

    def _count(
        self, measurement: str, start_ns: int, end_ns: int, tags: Mapping[str, str] | None
    ) -> int:
        db = self._connect()
        series = self._matching_series(db, measurement, tags) if tags else None
        if series == {}:
            return 0
        sql, args = self._select("COUNT(*)", measurement, start_ns, end_ns, series)
        return int(db.execute(sql, args).fetchone()[0])

    def _sum(
        self,
        measurement: str,
        field: str,
        start_ns: int,
        end_ns: int,
        tags: Mapping[str, str] | None,
    ) -> float:
        db = self._connect()
        known = self._field_type(db, measurement, field)
        if known is None:
            return 0.0
        if known not in _NUMERIC:
            raise ValueError(f"cannot sum field `{field}` of `{measurement}`: it holds {known}s")
        series = self._matching_series(db, measurement, tags) if tags else None
        if series == {}:
            return 0.0
        # TOTAL, unlike SUM, never overflows on large integers. json_each, unlike a JSON path,
        # needs no quoting of the field name.
        sql, args = self._select(
            "TOTAL(f.value)",
            measurement,
            start_ns,
            end_ns,
            series,
            "points p, json_each(p.fields) f",
        )
        sql += " AND f.key = ?"
        args.append(field)
        return float(db.execute(sql, args).fetchone()[0])

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _series_key(tags: Mapping[str, str]) -> str:
    """The canonical JSON of a tag set: equal tag sets give equal keys."""
    return msgspec.json.encode(sorted(tags.items())).decode()
