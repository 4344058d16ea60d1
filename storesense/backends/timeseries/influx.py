"""The InfluxDB time-series store: InfluxDB 1.x natively, 2.x/3.x through their 1.x query API.

Writes go to 1.x `/write` (the database is created on first use), or for 2.x/3.x through
influxdb-client's async write API. Every read is InfluxQL on `/query` (`db` = database or
bucket; 2.x/3.x map a bucket to a database of the same name and take `Token` auth), streamed
in chunks. Each read starts with `SHOW FIELD KEYS`, because the JSON answer writes a float
2.0 as `2` and only the field's declared type says it is a float.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

import aiohttp
import httpx
import msgspec
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from storesense.backends.timeseries import influxql
from storesense.backends.timeseries.base import (
    Point,
    PointsRejected,
    QueryFailed,
    check_key,
    check_query,
)
from storesense.backends.timeseries.line_protocol import encode_points
from storesense.errors import BackendUnavailable

CHUNK_ROWS = 10_000
# Answers that say "not now" rather than "never": the same request may succeed later.
_RETRYABLE = frozenset({401, 403, 404, 408, 429})
_NUMERIC = frozenset({"integer", "float"})


class _Series(msgspec.Struct):
    columns: list[str]
    values: list[list[Any]] = []
    tags: dict[str, str] | None = None


class _Result(msgspec.Struct):
    statement_id: int = 0
    series: list[_Series] = []
    error: str | None = None


class _Answer(msgspec.Struct):
    results: list[_Result] = []
    error: str | None = None


_answer_decoder = msgspec.json.Decoder(_Answer)


class InfluxTimeSeries:
    """TimeSeriesStore on InfluxDB; `version` 1 uses username/password, 2 uses token/org."""

    def __init__(
        self,
        url: str,
        *,
        version: Literal[1, 2] = 1,
        database: str = "storesense",
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        org: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if version == 2 and not (token and org):
            raise ValueError("InfluxDB 2.x/3.x needs both a token and an org")
        self.url = url.rstrip("/")
        self.version = version
        self.database = database
        self._token = token or ""
        self._org = org or ""
        self._timeout_s = timeout_s
        headers = {"Authorization": f"Token {token}"} if version == 2 else {}
        auth = httpx.BasicAuth(username, password or "") if version == 1 and username else None
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=headers, auth=auth, timeout=timeout_s
        )
        self._v2_client: InfluxDBClientAsync | None = None
        self._database_ready = version != 1

    async def write(self, points: Sequence[Point]) -> None:
        if not points:
            return
        body = encode_points(points)
        if self.version == 2:
            await self._write_v2(body, len(points))
            return
        await self._ensure_database()
        params = {"db": self.database, "precision": "ns"}
        response = await self._request("POST", "/write", params=params, content=body)
        if response.status_code == 404 and "database not found" in response.text:
            # Dropped while we ran: create it again, once.
            self._database_ready = False
            await self._ensure_database()
            response = await self._request("POST", "/write", params=params, content=body)
        if response.status_code >= 300:
            self._fail(response.status_code, response.text, "/write", len(points))

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
        types: dict[str, set[str]] = {}
        points: list[Point] = []

        def visit(result: _Result) -> None:
            if result.statement_id == 0:
                _add_field_types(types, result)
            else:
                for series in result.series:
                    points.extend(_points(measurement, series, types))

        statement = influxql.select_points(
            measurement, start_ns=start_ns, end_ns=end_ns, tags=tags, limit=limit
        )
        await self._select(f"{influxql.show_field_keys(measurement)}; {statement}", visit)
        # One answer series per tag set, each in time order (and limited on its own).
        points.sort(key=lambda point: point.ts_ns)
        return points if limit is None else points[:limit]

    async def count(
        self,
        measurement: str,
        *,
        start_ns: int,
        end_ns: int,
        tags: Mapping[str, str] | None = None,
    ) -> int:
        """InfluxQL has no row count: `count(*)` counts each field apart. When one field has
        values in the range, its count is the row count. When several do, no combination of
        per-field counts is exact (points {a} and {b} give 1 and 1 for 2 rows), so the matching
        rows are streamed and counted: correct, but it moves the data."""
        check_query(measurement, start_ns, end_ns, tags)
        per_field: list[int] = []
        rows = 0

        def add_counts(result: _Result) -> None:
            for series in result.series:
                for row in series.values:
                    per_field.extend(count for count in row[1:] if count)

        def add_rows(result: _Result) -> None:
            nonlocal rows
            rows += sum(len(series.values) for series in result.series)

        bounds: dict[str, Any] = {"start_ns": start_ns, "end_ns": end_ns, "tags": tags}
        await self._select(influxql.select_count(measurement, **bounds), add_counts)
        if len(per_field) <= 1:
            return int(per_field[0]) if per_field else 0
        await self._select(influxql.select_points(measurement, **bounds), add_rows)
        return rows

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
        types: dict[str, set[str]] = {}
        total = 0.0

        def visit(result: _Result) -> None:
            nonlocal total
            if result.statement_id == 0:
                _add_field_types(types, result)
                if not types.get(field, _NUMERIC) <= _NUMERIC:
                    kinds = "/".join(sorted(types[field]))
                    raise ValueError(
                        f"cannot sum field `{field}` of `{measurement}`: it holds {kinds}s"
                    )
                return
            for series in result.series:
                total += sum(row[1] for row in series.values if row[1] is not None)

        statement = influxql.select_sum(
            measurement, field, start_ns=start_ns, end_ns=end_ns, tags=tags
        )
        await self._select(f"{influxql.show_field_keys(measurement)}; {statement}", visit)
        return float(total)

    async def close(self) -> None:
        await self._http.aclose()
        if self._v2_client is not None:
            await self._v2_client.close()  # type: ignore[no-untyped-call]
            self._v2_client = None

    async def _ensure_database(self) -> None:
        if not self._database_ready:
            await self._run(influxql.create_database(self.database), lambda result: None)
            self._database_ready = True

    async def _write_v2(self, body: bytes, count: int) -> None:
        if self._v2_client is None:
            self._v2_client = InfluxDBClientAsync(
                url=self.url, token=self._token, org=self._org, timeout=int(self._timeout_s * 1000)
            )
        try:
            await self._v2_client.write_api().write(
                bucket=self.database,
                org=self._org,
                record=body,
                write_precision=WritePrecision.NS,  # type: ignore[arg-type]  # typed as str there
            )
        except ApiException as exc:
            body_text = exc.body.decode(errors="replace") if exc.body else str(exc.reason)
            self._fail(int(exc.status or 0), body_text, "/api/v2/write", count)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise self._unreachable("/api/v2/write", exc) from exc

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self._unreachable(path, exc) from exc

    async def _select(self, statement: str, visit: Callable[[_Result], None]) -> None:
        await self._ensure_database()
        await self._run(statement, visit)

    async def _run(self, statement: str, visit: Callable[[_Result], None]) -> None:
        """Send InfluxQL and hand each (partial) statement result to `visit`, in order."""
        params = {"db": self.database, "epoch": "ns", "chunked": "true"}
        params["chunk_size"] = str(CHUNK_ROWS)
        try:
            async with self._http.stream(
                "POST", "/query", params=params, data={"q": statement}
            ) as response:
                if response.status_code != 200:
                    text = (await response.aread()).decode(errors="replace")
                    self._fail(response.status_code, text, "/query", 0)
                # One JSON document per chunk, each ending in "\n". Split on that byte only:
                # text line splitting would also break at U+0085 or U+2028 inside a string.
                pending = bytearray()
                async for data in response.aiter_bytes():
                    pending += data
                    end = pending.rfind(b"\n")
                    if end >= 0:
                        for line in bytes(pending[:end]).split(b"\n"):
                            self._visit_chunk(line, statement, visit)
                        del pending[: end + 1]
                self._visit_chunk(bytes(pending), statement, visit)
        except httpx.HTTPError as exc:
            raise self._unreachable("/query", exc) from exc

    def _visit_chunk(self, line: bytes, statement: str, visit: Callable[[_Result], None]) -> None:
        if not line.strip():
            return
        try:
            answer = _answer_decoder.decode(line)
        except msgspec.DecodeError as exc:
            raise QueryFailed(
                f"InfluxDB at {self.url}/query gave an unreadable answer: {exc}"
            ) from exc
        for error in [answer.error, *(result.error for result in answer.results)]:
            if error is not None:
                raise QueryFailed(f"InfluxDB at {self.url}/query failed `{statement}`: {error}")
        for result in answer.results:
            visit(result)

    def _fail(self, status: int, body: str, path: str, count: int) -> None:
        where = f"InfluxDB at {self.url}{path}"
        message = _error_message(body)
        if status >= 500 or status in _RETRYABLE:
            hint = "; check the credentials" if status in (401, 403) else ""
            raise BackendUnavailable(f"{where} answered {status}: {message}{hint}")
        if path == "/query":
            raise QueryFailed(f"{where} answered {status}: {message}")
        dropped = re.search(r"dropped=(\d+)", message)
        raise PointsRejected(
            f"{where} rejected points ({status}): {message}",
            dropped=int(dropped[1]) if dropped else count,
        )

    def _unreachable(self, path: str, exc: BaseException) -> BackendUnavailable:
        reason = str(exc) or type(exc).__name__
        return BackendUnavailable(
            f"InfluxDB at {self.url}{path} cannot be reached ({reason}); "
            "check timeseries.influx_url and that InfluxDB is running"
        )


def _error_message(body: str) -> str:
    """InfluxDB 1.x answers {"error": ...}, 2.x {"message": ...}; anything else as text."""
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return body.strip()[:500] or "(empty answer)"
    if isinstance(decoded, dict):
        return str(decoded.get("error") or decoded.get("message") or decoded)
    return str(decoded)


def _add_field_types(types: dict[str, set[str]], result: _Result) -> None:
    for series in result.series:
        for name, kind in series.values:
            types.setdefault(name, set()).add(kind)


def _points(measurement: str, series: _Series, types: Mapping[str, set[str]]) -> Iterator[Point]:
    # GROUP BY * lists every tag key of the measurement; "" means this series lacks it.
    tags = {key: value for key, value in (series.tags or {}).items() if value != ""}
    names = series.columns[1:]
    floats = {name for name in names if types.get(name) == {"float"}}
    for row in series.values:
        fields = {}
        for name, value in zip(names, row[1:], strict=True):
            if value is not None:
                fields[name] = float(value) if name in floats else value
        yield Point(measurement, dict(tags), fields, int(row[0]))
