"""Issue 4's fault test: an agent process publishing 50 events/s through a 30 s broker
outage and a SIGKILL of the agent itself loses nothing: the real ingest service stores
every produced event exactly once.

"Produced" = durably in the outbox: the counting agent records a sequence number only
after `emit` returned (the commit is done), and resumes after the last recorded one, so
the produced events are exactly ids 1..last recorded (an event committed just before the
kill but not yet recorded is emitted again with the same id: a duplicate, never a gap).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from edge.runtime.outbox import Outbox
from storesense.backends.timeseries.sqlite import SQLiteTimeSeries
from tests.edge.counting_agent import last_recorded
from tests.edge.helpers import EVENTS, STATUS, Recorder, config_data, retained, wait_for, write_toml
from tests.servers import Mosquitto, Redis, free_port

REPO = Path(__file__).resolve().parents[2]
OUTAGE_S = 30


class AgentProcess:
    """The counting agent under AgentRunner, as its own process (so it can be SIGKILLed)."""

    def __init__(self, tmp_path: Path, port: int) -> None:
        self.progress = tmp_path / "progress.txt"
        self.outbox = tmp_path / "outbox.sqlite"
        data = config_data(
            tmp_path, port, heartbeat_s=5, door={"rate_hz": 50, "progress": str(self.progress)}
        )
        self.config = write_toml(tmp_path / "agent.toml", data)
        self.log = tmp_path / "agent.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.edge.counting_main", str(self.config)],
                cwd=REPO,
                stderr=log,
            )

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def terminate(self) -> int:
        """SIGTERM: the clean stop (flush, offline status); returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def produced(self) -> int:
        return last_recorded(self.progress)

    def cleanup(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class IngestService:
    """The real service (`storesense serve`) on the test's Mosquitto and Redis, with a fixed
    ingest client id: a persistent session, so what arrives while ingest is reconnecting
    after the outage waits for it at the broker."""

    def __init__(self, tmp_path: Path, broker: Mosquitto, redis: Redis) -> None:
        self.data_dir = tmp_path / "data"
        self.log = tmp_path / "serve.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("STORESENSE_")}
        self.env |= {
            "STORESENSE_BROKER__URL": broker.url,
            "STORESENSE_STATE__REDIS_URL": redis.url,
            "STORESENSE_STATE__KEY_PREFIX": f"t{uuid.uuid4().hex[:8]}",
            "STORESENSE_INGEST__CLIENT_ID": f"ingest-{uuid.uuid4().hex[:8]}",
            "STORESENSE_DATA_DIR": str(self.data_dir),
            "STORESENSE_API__PORT": str(free_port()),
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "storesense.cli.main", "serve"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(lambda: "ingest subscribed" in self.log.read_text(), 30, "ingest ready")

    def stored(self) -> int:
        """door.crossing events in the service's time series."""
        path = self.data_dir / "timeseries.sqlite"
        return asyncio.run(_count(path)) if path.exists() else 0

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.mark.slow
def test_no_event_is_lost_through_a_broker_outage_and_an_agent_sigkill(
    tmp_path: Path, broker: Mosquitto, redis_server: Redis
) -> None:
    service = IngestService(tmp_path, broker, redis_server)
    recorder = Recorder(broker.port, [EVENTS])  # a second witness, counting duplicates
    agent = AgentProcess(tmp_path, broker.port)
    agent.start()
    try:
        wait_for(lambda: len(recorder.seqs()) >= 50, 15, "first 50 events at the broker")

        broker.stop()  # (a) the broker goes away for 30 s; the agent keeps producing
        before_outage = agent.produced()
        time.sleep(OUTAGE_S)
        during_outage = agent.produced() - before_outage
        broker.start()

        # (b) SIGKILL the agent as soon as its backlog starts arriving, then restart it.
        wait_for(lambda: max(recorder.seqs()) > before_outage, 15, "backlog after the outage")
        agent.kill()
        killed_at = agent.produced()
        agent.start()
        wait_for(lambda: agent.produced() >= killed_at + 50, 15, "restarted agent producing")
        assert agent.terminate() == 0
        produced = agent.produced()

        wait_for(lambda: service.stored() >= produced, 30, f"{produced} events stored")
        time.sleep(1.0)  # late duplicates or strays, if any, land by now
        stored = service.stored()
    finally:
        agent.cleanup()
        recorder.close()
        service.stop()

    received = recorder.seqs()
    duplicates = len(received) - len(set(received))
    print(f"produced={produced} stored={stored} at_broker={len(received)} dup={duplicates}")
    assert during_outage >= 0.8 * 50 * OUTAGE_S  # the agent did not stall without a broker
    assert set(received) == set(range(1, produced + 1))  # nothing lost, nothing invented
    assert stored == produced  # each stored once, duplicates deduped by (store, device, id)
    with Outbox(agent.outbox) as outbox:
        assert outbox.depth == 0  # the clean stop flushed everything
    assert retained(broker.port, STATUS)["state"] == "offline"


async def _count(path: Path) -> int:
    series = SQLiteTimeSeries(path)
    try:
        return await series.count("door_crossing", start_ns=0, end_ns=2**62)
    except Exception:  # the service may not have created the table yet
        return 0
    finally:
        await series.close()
