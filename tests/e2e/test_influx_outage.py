"""The whole stack rides out a one-minute InfluxDB outage: what devices publish meanwhile waits
in the spool and every event is stored exactly once when InfluxDB returns. A slow InfluxDB
does not hold acknowledgements past `ingest.ack_deadline_ms` either."""

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

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from storesense.stack import running_stack
from tests.backends.slow_proxy import DelayingProxy
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


def publish_burst(port: int, topic: str, count: int, prefix: str = "evt") -> list[str]:
    """Publish `count` door crossings (QoS 1) as fast as the broker takes them."""
    client = paho.Client(CallbackAPIVersion.VERSION2)
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        sent = []
        for n in range(count):
            event = {"type": "door.crossing", "id": f"{prefix}-{n}", "ts": int(time.time() * 1000),
                     "direction": "in", "count": 1}  # fmt: skip
            sent.append(client.publish(topic, json.dumps(event), qos=1))
        for info in sent:
            info.wait_for_publish(timeout=30)
        assert all(info.is_published() for info in sent)
        return [f"{prefix}-{n}" for n in range(count)]
    finally:
        client.loop_stop()
        client.disconnect()


class WindowedMosquitto(Mosquitto):
    """Mosquitto with its in-flight window stated: 20 unacknowledged messages per client."""

    def command(self) -> list[str]:
        command = super().command()
        config = self.workdir / "mosquitto.conf"
        config.write_text(config.read_text() + "max_inflight_messages 20\n")
        return command


async def test_a_slow_influxdb_does_not_hold_acknowledgements_past_the_deadline(
    tmp_path: Path, redis_server: Redis, own_influxdb: InfluxDB
) -> None:
    # Every write takes 3 s. Mosquitto sends a client 20 unacknowledged messages, then more
    # only as acknowledgements come (2.0.11 then sends up to 200 at once). If they waited for
    # the writes, 400 messages would take at least two writes: 6 s. With a 30 ms deadline the
    # points go to the spool and the messages are acknowledged at once.
    mosquitto = WindowedMosquitto(tmp_path / "mosquitto")
    await asyncio.to_thread(mosquitto.start)
    proxy = DelayingProxy(own_influxdb.port)
    await proxy.start()
    settings = stack_settings(
        tmp_path,
        broker={"url": mosquitto.url},
        state={"redis_url": redis_server.url, "key_prefix": f"t{uuid.uuid4().hex[:8]}"},
        timeseries={"influx_url": proxy.url, "database": f"db{uuid.uuid4().hex[:8]}"},
        topic_root=f"r{uuid.uuid4().hex[:8]}",
        ingest={"ack_deadline_ms": 30, "ack_group": 10},
    )
    topic = f"{settings.topic_root}/v1/store-7/door-1/events"
    count = 400
    try:
        async with running_stack(settings) as stack, httpx.AsyncClient() as http:

            async def accepted() -> int:
                text = (await http.get(f"{stack.api_url}/metrics")).text
                found = re.search(
                    r'^storesense_ingest_events_accepted_total\{type="door.crossing"\} (\S+)$',
                    text,
                    re.M,
                )
                return int(float(found.group(1))) if found else 0

            warm_up = await asyncio.to_thread(publish_burst, mosquitto.port, topic, 1, "warm")
            await eventually(accepted, lambda n: n == 1, timeout=15)
            proxy.delay_s = 3.0
            started = time.monotonic()
            published = await asyncio.to_thread(publish_burst, mosquitto.port, topic, count)
            await eventually(accepted, lambda n: n == 1 + count, timeout=30)
            elapsed = time.monotonic() - started
            assert elapsed < 3, f"{count} messages took {elapsed:.1f} s"

            proxy.delay_s = 0

            async def stored() -> int:
                rows = await influxql(settings, 'SELECT count("id") FROM "door_crossing"')
                return int(rows[0][1]) if rows else 0

            total = 1 + count
            assert await eventually(stored, lambda n: n >= total, timeout=30) == total
            distinct = await influxql(settings, 'SELECT count(distinct("id")) FROM "door_crossing"')
            assert distinct[0][1] == total
            ids = [row[1] for row in await influxql(settings, 'SELECT "id" FROM "door_crossing"')]
            assert sorted(ids) == sorted(warm_up + published)
    finally:
        await proxy.close()
        await asyncio.to_thread(mosquitto.stop)
