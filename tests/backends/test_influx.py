"""What only the Influx store does: reach the server, authenticate, report what it answered."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from storesense.backends.timeseries import Point, PointsRejected
from storesense.backends.timeseries.influx import InfluxTimeSeries
from storesense.errors import BackendUnavailable
from tests.servers import InfluxDB, free_port

T0 = 1_700_000_000 * 10**9


def point(ts: int = T0, **fields: Any) -> Point:
    return Point("door_crossing", {"store": "s1"}, fields or {"count": 1}, ts)


@pytest.fixture
async def influx(influxdb: InfluxDB) -> AsyncIterator[InfluxTimeSeries]:
    store = InfluxTimeSeries(influxdb.url, database=f"test_{uuid.uuid4().hex}")
    yield store
    await store.close()


@pytest.mark.parametrize("version", [1, 2])
async def test_write_to_nothing_listening_says_where_and_why(version: int) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    store = InfluxTimeSeries(url, version=version, token="t", org="o")  # type: ignore[arg-type]
    try:
        with pytest.raises(BackendUnavailable) as caught:
            await store.write([point()])
        assert url in str(caught.value)
        assert "cannot be reached" in str(caught.value)
        assert "influx_url" in str(caught.value)
        with pytest.raises(BackendUnavailable, match="/query cannot be reached"):
            await store.count("door_crossing", start_ns=0, end_ns=1)
    finally:
        await store.close()


async def test_type_conflict_names_influx_message(influx: InfluxTimeSeries) -> None:
    await influx.write([point(count=1)])
    with pytest.raises(PointsRejected) as caught:
        await influx.write([point(T0 + 1, count="one")])
    message = str(caught.value)
    assert f"{influx.url}/write rejected points (400)" in message
    assert "field type conflict" in message
    assert caught.value.dropped == 1


async def test_write_recreates_a_database_dropped_behind_its_back(
    influx: InfluxTimeSeries,
) -> None:
    await influx.write([point(T0)])
    async with httpx.AsyncClient() as client:
        dropped = await client.post(
            f"{influx.url}/query", data={"q": f'DROP DATABASE "{influx.database}"'}
        )
        assert dropped.status_code == 200
    await influx.write([point(T0 + 1)])
    assert await influx.count("door_crossing", start_ns=0, end_ns=2**62) == 1


class AuthInfluxDB(InfluxDB):
    """InfluxDB with authentication on and one admin user, `admin` / `s3cret pass`."""

    def command(self) -> list[str]:
        command = super().command()
        config = self.workdir / "influxdb.conf"
        config.write_text(config.read_text().replace("[http]\n", "[http]\n  auth-enabled = true\n"))
        return command

    def start(self) -> None:
        super().start()
        # With no user yet, InfluxDB lets anyone create the first admin.
        body = urllib.parse.urlencode(
            {"q": "CREATE USER admin WITH PASSWORD 's3cret pass' WITH ALL PRIVILEGES"}
        ).encode()
        with urllib.request.urlopen(f"{self.url}/query", data=body, timeout=5) as response:
            assert response.status == 200


@pytest.fixture
def auth_influxdb(tmp_path: Path) -> Iterator[AuthInfluxDB]:
    server = AuthInfluxDB(tmp_path / "influx-auth")
    server.start()
    yield server
    server.stop()


async def test_username_and_password_are_sent_and_checked(auth_influxdb: AuthInfluxDB) -> None:
    good = InfluxTimeSeries(auth_influxdb.url, username="admin", password="s3cret pass")
    bad = InfluxTimeSeries(auth_influxdb.url, username="admin", password="wrong")
    try:
        await good.write([point()])
        assert await good.count("door_crossing", start_ns=0, end_ns=2**62) == 1
        with pytest.raises(BackendUnavailable, match=r"answered 401: .*check the credentials"):
            await bad.write([point()])
    finally:
        await good.close()
        await bad.close()


async def test_v2_sends_token_org_and_bucket() -> None:
    """Against a recording HTTP server, not InfluxDB 2.x: none can run offline here."""
    seen: list[dict[str, Any]] = []

    async def record(request: web.Request) -> web.StreamResponse:
        form = dict(await request.post()) if request.path == "/query" else {}
        seen.append(
            {
                "path": request.path,
                "query": dict(request.query),
                "auth": request.headers.get("Authorization"),
                "body": form.get("q") or (await request.read()).decode(),
            }
        )
        if request.path == "/api/v2/write":
            return web.Response(status=204)
        answer = {
            "results": [
                {
                    "statement_id": 0,
                    "series": [{"columns": ["fieldKey", "fieldType"], "values": [["v", "float"]]}],
                },
                {
                    "statement_id": 1,
                    "series": [
                        {"tags": {"store": "s1"}, "columns": ["time", "v"], "values": [[T0, 2]]}
                    ],
                },
            ]
        }
        return web.Response(text=json.dumps(answer) + "\n", content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    store = InfluxTimeSeries(
        f"http://127.0.0.1:{port}", version=2, database="events", token="tok", org="shop"
    )
    try:
        await store.write([Point("door_crossing", {"store": "s1"}, {"v": 2.0}, T0)])
        got = await store.query("door_crossing", start_ns=0, end_ns=2**62)
    finally:
        await store.close()
        await runner.cleanup()

    write, query = seen
    assert write["path"] == "/api/v2/write"
    assert write["query"] == {"org": "shop", "bucket": "events", "precision": "ns"}
    assert write["auth"] == "Token tok"
    assert write["body"] == f"door_crossing,store=s1 v=2.0 {T0}"
    assert query["path"] == "/query"
    assert query["query"]["db"] == "events"
    assert query["auth"] == "Token tok"
    assert query["body"].startswith('SHOW FIELD KEYS FROM "door_crossing"; SELECT * FROM')
    [only] = got
    assert (only.tags, only.fields, type(only.fields["v"])) == ({"store": "s1"}, {"v": 2.0}, float)
