"""Two ingest workers on a shared subscription, one killed with SIGKILL mid-run and
restarted by the supervisor: the stored totals still equal the simulator's ground truth."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulators.population import write_members_csv
from simulators.run import SimulationOptions, plan_simulation, run_simulation
from storesense.backends.state.redis import RedisState
from storesense.backends.timeseries.influx import InfluxTimeSeries
from storesense.registry import stored
from storesense.registry.members import parse_members_csv
from tests.e2e.helpers import eventually
from tests.e2e.truth_check import assert_matches_truth, points
from tests.servers import InfluxDB, Mosquitto, Redis, wait_until

pytestmark = pytest.mark.slow
DAY_START_MS = 1_795_600_800_000


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def worker_pids(log: Path) -> list[int]:
    """Worker pids in start order, from the supervisor's log."""
    return [
        int(pid)
        for pid in re.findall(r"ingest worker started index=\d+ pid=(\d+)", log.read_text())
    ]


@pytest.fixture
def env(
    tmp_path: Path, mosquitto: Mosquitto, redis_server: Redis, influxdb: InfluxDB
) -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        **os.environ,
        "STORESENSE_BROKER__URL": mosquitto.url,
        "STORESENSE_BROKER__CLIENT_ID_PREFIX": f"w{tag}",
        "STORESENSE_STATE__REDIS_URL": redis_server.url,
        "STORESENSE_STATE__KEY_PREFIX": f"w{tag}",
        "STORESENSE_TIMESERIES__INFLUX_URL": influxdb.url,
        "STORESENSE_TIMESERIES__DATABASE": f"w{tag}",
        "STORESENSE_TOPIC_ROOT": f"w{tag}",
        "STORESENSE_DATA_DIR": str(tmp_path / "data"),
    }


@pytest.fixture
def workers(env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / "workers.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "storesense.cli.main", "ingest", "--workers", "2"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    logged = tmp_path / "workers.log"
    try:
        # Subscribed, not just started: a shared subscription gets nothing sent before it.
        wait_until(lambda: logged.read_text().count("ingest subscribed") >= 2, 60, "two workers")
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


async def test_killed_worker_loses_and_doubles_nothing(
    env: dict[str, str], workers: subprocess.Popen[bytes], mosquitto: Mosquitto,
    redis_server: Redis, influxdb: InfluxDB, tmp_path: Path,
) -> None:  # fmt: skip
    options = SimulationOptions(
        port=mosquitto.port, topic_root=env["STORESENSE_TOPIC_ROOT"], store="flagship",
        seed=5, speed=900, duration_s=4 * 3600, start_ms=DAY_START_MS, visitors_per_hour=90,
        batch_size=20, member_count=120,
    )  # fmt: skip
    plan = plan_simulation(options)
    members_csv = tmp_path / "members.csv"
    write_members_csv(plan.members, members_csv)
    state = RedisState(redis_server.url, prefix=env["STORESENSE_STATE__KEY_PREFIX"])
    await stored.save(state, parse_members_csv(members_csv.read_text()))
    await state.close()
    await asyncio.sleep(2)  # workers pick up the registry (checked every second)

    async def kill_one_worker_mid_run() -> int:
        await asyncio.sleep(6)
        victim = worker_pids(tmp_path / "workers.log")[0]
        os.kill(victim, signal.SIGKILL)
        return victim

    report, victim = await asyncio.gather(run_simulation(options), kill_one_worker_mid_run())
    truth = report.truth
    assert report.elapsed_s > 10  # the kill really landed mid-run
    ts = InfluxTimeSeries(influxdb.url, version=1, database=env["STORESENSE_TIMESERIES__DATABASE"])
    try:
        await eventually(
            lambda: points(ts, "door_crossing"),
            lambda found: len(found) == truth.events_by_type["door.crossing"],
            timeout=60,
        )
        await eventually(
            lambda: points(ts, "beacon_sighting"),
            lambda found: len(found) == truth.events_by_type["beacon.sighting"],
            timeout=30,
        )
        await asyncio.sleep(1.0)
        await assert_matches_truth(ts, truth)
    finally:
        await ts.close()
    log = (tmp_path / "workers.log").read_text()
    assert "ingest worker died index=0" in log  # the supervisor saw it and started another
    assert victim not in children(workers.pid)
    assert len(worker_pids(tmp_path / "workers.log")) == 3
