"""A simulated store day replayed through real Mosquitto + Redis + InfluxDB: the service's
footfall, visits, member visits, try-ons, sales and conversions equal the simulator's
ground truth."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from simulators.population import write_members_csv
from simulators.run import SimulationOptions, SimulationReport, plan_simulation, run_simulation
from storesense.backends.timeseries.factory import open_timeseries
from storesense.registry import stored
from storesense.registry.members import parse_members_csv
from storesense.stack import RunningStack, running_stack
from tests.e2e.helpers import eventually, stack_settings
from tests.e2e.truth_check import assert_matches_truth, points
from tests.servers import InfluxDB, Mosquitto, Redis

pytestmark = pytest.mark.slow
DAY_START_MS = 1_795_600_800_000  # a morning in the past: replayed history, no live alerts


@pytest.fixture
async def external_stack(
    tmp_path: Path, mosquitto: Mosquitto, redis_server: Redis, influxdb: InfluxDB
) -> AsyncIterator[RunningStack]:
    settings = stack_settings(
        tmp_path,
        broker={"url": mosquitto.url},
        state={"redis_url": redis_server.url, "key_prefix": f"t{uuid.uuid4().hex[:8]}"},
        timeseries={"influx_url": influxdb.url, "database": f"db{uuid.uuid4().hex[:8]}"},
        topic_root=f"r{uuid.uuid4().hex[:8]}",
    )
    async with running_stack(settings) as stack:
        yield stack


async def simulate_day(stack: RunningStack, tmp_path: Path, port: int) -> SimulationReport:
    options = SimulationOptions(
        port=port, topic_root=stack.settings.topic_root, store="flagship", seed=11, speed=0,
        duration_s=4 * 3600, start_ms=DAY_START_MS, visitors_per_hour=90, batch_size=50,
        member_count=120,
    )  # fmt: skip
    plan = plan_simulation(options)
    members_csv = tmp_path / "members.csv"
    write_members_csv(plan.members, members_csv)
    await stored.save(stack.state, parse_members_csv(members_csv.read_text()))
    return await run_simulation(options)


async def accepted_events(stack: RunningStack) -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{stack.api_url}/metrics")).text
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("storesense_ingest_events_accepted_total")
    )


async def test_simulated_day_matches_ground_truth(
    external_stack: RunningStack, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    stack = external_stack
    report = await simulate_day(stack, tmp_path, mosquitto.port)
    truth = report.truth
    assert truth.visits > 100 and sum(truth.conversions.values()) > 5  # a real day, not a toy

    await eventually(lambda: accepted_events(stack), lambda n: n == report.events, timeout=120)
    ts = open_timeseries(stack.settings)
    try:
        await eventually(
            lambda: points(ts, "door_crossing"),
            lambda found: len(found) == truth.events_by_type["door.crossing"],
            timeout=30,
        )
        await asyncio.sleep(1.0)  # the writer flushes every 0.2 s: let the last facts land
        await assert_matches_truth(ts, truth)
    finally:
        await ts.close()
