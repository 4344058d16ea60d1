"""The stack on real Mosquitto + Redis + InfluxDB 1.x (private servers from fixtures)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from storesense.settings import Settings
from storesense.stack import running_stack
from tests.e2e.helpers import eventually, publish, stack_settings
from tests.servers import InfluxDB, Mosquitto, Redis


@pytest.fixture
async def external_stack(
    tmp_path: Path, mosquitto: Mosquitto, redis_server: Redis, influxdb: InfluxDB
) -> AsyncIterator[Settings]:
    settings = stack_settings(
        tmp_path,
        broker={"url": mosquitto.url},
        state={"redis_url": redis_server.url, "key_prefix": f"t{uuid.uuid4().hex[:8]}"},
        timeseries={"influx_url": influxdb.url, "database": f"db{uuid.uuid4().hex[:8]}"},
        topic_root=f"r{uuid.uuid4().hex[:8]}",  # private topics on the shared broker
    )
    async with running_stack(settings):
        yield settings


async def influxql(settings: Settings, query: str) -> list[list[Any]]:
    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"{settings.timeseries.influx_url}/query",
            params={"db": settings.timeseries.database, "q": query},
        )
    response.raise_for_status()
    series = response.json()["results"][0].get("series", [])
    return series[0]["values"] if series else []


async def test_event_from_plain_mqtt_client_lands_in_influxdb_once(
    external_stack: Settings, mosquitto: Mosquitto
) -> None:
    settings = external_stack
    topic = f"{settings.topic_root}/v1/store-7/door-1/events"
    event = {"type": "door.crossing", "id": "evt-1", "ts": int(time.time() * 1000),
             "direction": "in", "count": 2}  # fmt: skip
    await publish(mosquitto.port, topic, event)
    await publish(mosquitto.port, topic, event)  # the same event again: a replay
    await publish(mosquitto.port, topic, {**event, "id": "evt-2", "direction": "out", "count": 1})

    rows = await eventually(
        lambda: influxql(
            settings,
            'SELECT "id", "count", "direction" FROM "door_crossing" WHERE "store" = \'store-7\'',
        ),
        lambda rows: len(rows) >= 2,
    )
    # Give a duplicate time to arrive if dedupe were broken, then look again.
    await external_stack_metrics_settled(settings)
    rows = await influxql(settings, 'SELECT "id", "count" FROM "door_crossing"')
    assert sorted((row[1], row[2]) for row in rows) == [("evt-1", 2), ("evt-2", 1)]
    total = await influxql(
        settings, 'SELECT sum("count") FROM "door_crossing" WHERE "direction" = \'in\''
    )
    assert total[0][1] == 2


async def external_stack_metrics_settled(settings: Settings) -> None:
    """Wait until the service has counted the replay (so all three messages were handled)."""

    async def replays() -> float:
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{settings.api.port}/metrics")).text
        for line in text.splitlines():
            if line.startswith("storesense_ingest_replays_dropped_total"):
                return float(line.split()[-1])
        return 0.0

    await eventually(replays, lambda n: n >= 1)
