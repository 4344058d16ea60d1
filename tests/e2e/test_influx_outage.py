"""The whole stack rides out a one-minute InfluxDB outage: what devices publish meanwhile waits
in the spool and every event is stored exactly once when InfluxDB returns."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from storesense.stack import running_stack
from tests.e2e.helpers import eventually, stack_settings
from tests.e2e.test_external_backends import influxql
from tests.servers import InfluxDB, Mosquitto, Redis

pytestmark = pytest.mark.slow

RATE_HZ = 50
OUTAGE_S = 60


@pytest.fixture
def own_influxdb(tmp_path: Path) -> Iterator[InfluxDB]:
    """A private server this test stops and starts."""
    server = InfluxDB(tmp_path / "influx")
    server.start()
    yield server
    server.stop()


def publish_until(port: int, topic: str, stop: threading.Event) -> list[str]:
    """Publish door crossings with unique ids at RATE_HZ (QoS 1) until `stop`; return the ids
    the broker acknowledged."""
    client = paho.Client(CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    sent: list[tuple[str, paho.MQTTMessageInfo]] = []
    next_at = time.monotonic()
    try:
        while not stop.is_set():
            event_id = f"evt-{len(sent)}"
            event = {"type": "door.crossing", "id": event_id, "ts": int(time.time() * 1000),
                     "direction": "in", "count": 1}  # fmt: skip
            sent.append((event_id, client.publish(topic, json.dumps(event), qos=1)))
            next_at += 1 / RATE_HZ
            time.sleep(max(0.0, next_at - time.monotonic()))
        for _, info in sent:
            info.wait_for_publish(timeout=10)
        return [event_id for event_id, info in sent if info.is_published()]
    finally:
        client.loop_stop()
        client.disconnect()


async def test_events_published_during_an_influx_outage_are_stored_exactly_once(
    tmp_path: Path,
    mosquitto: Mosquitto,
    redis_server: Redis,
    own_influxdb: InfluxDB,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="storesense.backends.timeseries")
    settings = stack_settings(
        tmp_path,
        broker={"url": mosquitto.url},
        state={"redis_url": redis_server.url, "key_prefix": f"t{uuid.uuid4().hex[:8]}"},
        timeseries={"influx_url": own_influxdb.url, "database": f"db{uuid.uuid4().hex[:8]}"},
        topic_root=f"r{uuid.uuid4().hex[:8]}",  # private topics on the shared broker
    )
    topic = f"{settings.topic_root}/v1/store-7/door-1/events"
    stop = threading.Event()
    async with running_stack(settings):
        publisher = asyncio.create_task(
            asyncio.to_thread(publish_until, mosquitto.port, topic, stop)
        )
        try:
            await asyncio.sleep(3)
            await asyncio.to_thread(own_influxdb.stop)
            await asyncio.sleep(OUTAGE_S)
            await asyncio.to_thread(own_influxdb.start)
            await asyncio.sleep(3)
        finally:
            stop.set()
            published = await publisher
        assert len(published) >= RATE_HZ * OUTAGE_S  # every publish was acknowledged

        async def count() -> int:
            rows = await influxql(settings, 'SELECT count("id") FROM "door_crossing"')
            return int(rows[0][1]) if rows else 0

        # The writer retries at most every 10 s, then drains the spool in batches.
        assert await eventually(count, lambda n: n >= len(published), timeout=40) == len(published)
        distinct = await influxql(settings, 'SELECT count(distinct("id")) FROM "door_crossing"')
        assert distinct[0][1] == len(published)
        ids = [row[1] for row in await influxql(settings, 'SELECT "id" FROM "door_crossing"')]
        assert sorted(ids) == sorted(published)

    # The outage was real and its points went through the disk.
    spooled = [int(n) for n in re.findall(r"timeseries_write_retry .* spooled=(\d+)", caplog.text)]
    assert max(spooled) > RATE_HZ * OUTAGE_S / 2
    assert "timeseries_write_recovered" in caplog.text
