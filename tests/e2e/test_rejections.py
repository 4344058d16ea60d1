"""Bad messages are rejected with a reason and counted; the service keeps accepting good ones.
Runs the stack on embedded defaults (amqtt broker, memory state, SQLite)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from storesense.backends.timeseries.sqlite import SQLiteTimeSeries
from storesense.stack import RunningStack, running_stack
from tests.api.auth_helpers import admin_headers
from tests.e2e.helpers import eventually, publish, stack_settings


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[RunningStack]:
    async with running_stack(stack_settings(tmp_path)) as running:
        yield running


def door(event_id: str, **extra: object) -> dict[str, object]:
    return {"type": "door.crossing", "id": event_id, "ts": int(time.time() * 1000),
            "direction": "in", **extra}  # fmt: skip


async def metric(stack: RunningStack, name: str, label: str = "") -> float | None:
    """A sample's value, or None when /metrics has no such sample."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{stack.api_url}/metrics")).text
    for line in text.splitlines():
        if line.startswith(name) and label in line:
            return float(line.split()[-1])
    return None


async def stored_door_ids(stack: RunningStack) -> list[str]:
    store = SQLiteTimeSeries(stack.settings.sqlite_path())
    try:
        points = await store.query("door_crossing", start_ns=0, end_ns=2**62)
    finally:
        await store.close()
    return sorted(str(p.fields["id"]) for p in points)


@pytest.mark.parametrize(
    ("payload", "topic_store", "reason", "logged"),
    [
        (b"{this is not json", "s1", "malformed_json", "not valid JSON"),
        (json.dumps(door("x1", store="s2")).encode(), "s1", "store_mismatch", "names store 's2'"),
        (json.dumps([door(f"p{i}", pad="x" * 600) for i in range(450)]).encode(), "s1",
         "too_large", "the limit is 262144"),
        (json.dumps({"type": "shelf.weight", "id": "w1", "ts": 1_795_658_400_000}).encode(), "s1",
         "unknown_type", "unknown event type 'shelf.weight'"),
    ],
    ids=["malformed", "other-store", "oversize", "unknown-type"],
)  # fmt: skip
async def test_bad_message_is_rejected_counted_and_service_keeps_going(
    stack: RunningStack,
    caplog: pytest.LogCaptureFixture,
    payload: bytes,
    topic_store: str,
    reason: str,
    logged: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="ingest.pipeline")
    port = stack.settings.broker.embedded_port
    await publish(port, f"storesense/v1/{topic_store}/door-1/events", payload)
    await eventually(
        lambda: metric(stack, "storesense_ingest_events_rejected_total", f'reason="{reason}"'),
        lambda n: n == 1,
    )
    assert any(logged in record.getMessage() for record in caplog.records)

    await publish(port, "storesense/v1/s1/door-1/events", door("good-after"))
    ids = await eventually(lambda: stored_door_ids(stack), lambda ids: "good-after" in ids)
    assert ids == ["good-after"]  # nothing from the bad message was stored


async def test_good_events_in_a_batch_survive_a_bad_neighbour(stack: RunningStack) -> None:
    batch = [door("a"), door("b", count="many"), door("c")]
    await publish(stack.settings.broker.embedded_port, "storesense/v1/s1/door-1/events", batch)
    ids = await eventually(lambda: stored_door_ids(stack), lambda ids: len(ids) >= 2)
    assert ids == ["a", "c"]
    assert (
        await metric(stack, "storesense_ingest_events_rejected_total", 'reason="invalid_field"')
        == 1
    )


async def test_device_status_is_tracked(stack: RunningStack) -> None:
    port = stack.settings.broker.embedded_port
    await publish(port, "storesense/v1/s1/rfid-1/status",
            {"state": "online", "ts": 1_795_658_400_000, "kind": "rfid", "version": "1.0"})  # fmt: skip

    headers = await admin_headers(stack.state)

    async def devices() -> list[dict[str, object]]:
        async with httpx.AsyncClient(headers=headers) as client:
            return list((await client.get(f"{stack.api_url}/api/v1/devices")).json()["devices"])

    listed = await eventually(devices, lambda d: len(d) == 1)
    assert listed[0]["device"] == "rfid-1" and listed[0]["state"] == "online"


async def test_metrics_report_buffer_depth_and_processing_latency(stack: RunningStack) -> None:
    await publish(stack.settings.broker.embedded_port, "storesense/v1/s1/door-1/events", door("m1"))
    await eventually(lambda: stored_door_ids(stack), lambda ids: ids == ["m1"])
    assert await metric(stack, "storesense_timeseries_buffered_points") == 0
    assert await metric(stack, "storesense_timeseries_dropped_points") == 0
    assert await metric(stack, "storesense_ingest_processing_seconds_count") == 1
    assert (
        await metric(stack, "storesense_ingest_events_accepted_total", 'type="door.crossing"') == 1
    )
