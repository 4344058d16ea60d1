"""The service under test for the ingest benchmark: `storesense serve` in a subprocess, the
private Mosquitto/Redis/InfluxDB it may use, and the probes that read its progress
(Prometheus /metrics, the time-series store) and CPU use."""

from __future__ import annotations

import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.servers import InfluxDB, Mosquitto, Redis, ServerProcess, free_port  # noqa: E402

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_MEASUREMENTS = ("door_crossing", "rfid_tag", "beacon_sighting")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def machine_busy_s() -> float:
    """CPU seconds all cores spent busy (not idle, not waiting for I/O) since boot."""
    with open("/proc/stat") as handle:
        ticks = [int(value) for value in handle.readline().split()[1:]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks[:8]) - idle) / _CLOCK_TICKS


@dataclass(frozen=True)
class MetricsSnapshot:
    accepted: float
    rejected: float
    replays: float
    buckets: tuple[tuple[float, float], ...]  # (upper bound, cumulative count) of the histogram


def scrape(client: httpx.Client, api: str) -> MetricsSnapshot:
    """The ingest counters from /metrics, each summed over its labels."""
    text = client.get(f"{api}/metrics", timeout=10).raise_for_status().text
    totals = {"accepted": 0.0, "rejected": 0.0, "replays": 0.0}
    names = {
        "storesense_ingest_events_accepted_total": "accepted",
        "storesense_ingest_events_rejected_total": "rejected",
        "storesense_ingest_replays_dropped_total": "replays",
    }
    buckets: list[tuple[float, float]] = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in names:
                totals[names[sample.name]] += sample.value
            elif sample.name == "storesense_ingest_processing_seconds_bucket":
                buckets.append((float(sample.labels["le"]), sample.value))
    return MetricsSnapshot(buckets=tuple(sorted(buckets)), **totals)


def histogram_quantile(
    q: float, before: MetricsSnapshot, after: MetricsSnapshot
) -> tuple[float, bool] | None:
    """The q-quantile of the observations between two snapshots, interpolated linearly inside
    its bucket as Prometheus' histogram_quantile does; (seconds, True) when it falls in the
    +Inf bucket (then the value is the largest finite bound, a lower limit)."""
    old = dict(before.buckets)
    counts = [(bound, count - old.get(bound, 0.0)) for bound, count in after.buckets]
    if not counts or counts[-1][1] <= 0:
        return None
    rank = q * counts[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in counts:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound, True
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 1.0
            return lower_bound + (bound - lower_bound) * share, False
        lower_bound, lower_count = bound, count
    return None


class PointCounter(Protocol):
    def count(self) -> int: ...

    def close(self) -> None: ...


class SqlitePoints:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None

    def count(self) -> int:
        try:
            if self._db is None:
                self._db = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True)
            return int(self._db.execute("SELECT count(*) FROM points").fetchone()[0])
        except sqlite3.OperationalError:  # not created yet
            self._db = None
            return 0

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


class InfluxPoints:
    def __init__(self, url: str, database: str) -> None:
        self._client = httpx.Client(base_url=url, timeout=30)
        self._database = database
        self._query = "SELECT count(id) FROM " + ", ".join(f'"{m}"' for m in _MEASUREMENTS)

    def count(self) -> int:
        answer = self._client.get("/query", params={"db": self._database, "q": self._query})
        answer.raise_for_status()
        total = 0
        for result in answer.json().get("results", []):
            for series in result.get("series", []):  # absent while the database is empty
                total += sum(int(row[1]) for row in series["values"])
        return total

    def close(self) -> None:
        self._client.close()


@dataclass
class Service:
    """One running service and what the benchmark needs to drive and observe it."""

    name: str
    broker_host: str
    broker_port: int
    api: str
    root: str
    pid: int
    points: PointCounter
    backend_pids: dict[str, int]  # server name -> pid (external backends only)
    log: Path

    def cpu_s(self) -> dict[str, float]:
        """CPU seconds so far of the service, each backend server, and the whole machine."""
        pids = {"service": self.pid, **self.backend_pids}
        used = {name: process_cpu_s(pid) for name, pid in pids.items()}
        used["machine"] = machine_busy_s()
        return used


class TunedMosquitto(Mosquitto):
    """The test Mosquitto with `max_inflight_messages` set (its default is 20 per client)."""

    def __init__(self, workdir: Path, max_inflight: int) -> None:
        super().__init__(workdir)
        self.max_inflight = max_inflight

    def command(self) -> list[str]:
        command = super().command()
        config = self.workdir / "mosquitto.conf"
        config.write_text(config.read_text() + f"max_inflight_messages {self.max_inflight}\n")
        return command


def start_service(
    stack: ExitStack,
    name: str,
    workdir: Path,
    profile: Path | None = None,
    broker_inflight: int | None = None,
    ack_group: int | None = None,
    ack_deadline_ms: int | None = None,
) -> Service:
    """Start the configuration `name` ("embedded" or "external"); `stack` stops it all.
    `broker_inflight` sets Mosquitto's `max_inflight_messages` (external only) and
    `ack_group` and `ack_deadline_ms` the service's STORESENSE_INGEST__ACK_GROUP and
    STORESENSE_INGEST__ACK_DEADLINE_MS; None leaves the defaults."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORESENSE_")}
    api_port = free_port()
    env.update(
        STORESENSE_DATA_DIR=str(workdir / "data"),
        STORESENSE_API__PORT=str(api_port),
        STORESENSE_LOG_LEVEL="INFO",
    )
    backend_pids: dict[str, int] = {}
    points: PointCounter
    if name == "embedded":
        broker_port = free_port()
        env["STORESENSE_BROKER__EMBEDDED_PORT"] = str(broker_port)
        points = SqlitePoints(workdir / "data" / "timeseries.sqlite")
    elif name == "external":
        mosquitto = _start_server(
            stack,
            Mosquitto(workdir / "mosquitto")
            if broker_inflight is None
            else TunedMosquitto(workdir / "mosquitto", broker_inflight),
        )
        redis = _start_server(stack, Redis(workdir / "redis"))
        influx = _start_server(stack, InfluxDB(workdir / "influxdb"))
        broker_port = mosquitto.port
        env.update(
            STORESENSE_BROKER__URL=mosquitto.url,
            STORESENSE_STATE__REDIS_URL=redis.url,
            STORESENSE_TIMESERIES__INFLUX_URL=influx.url,
            STORESENSE_TIMESERIES__DATABASE="storesense",
        )
        points = InfluxPoints(influx.url, "storesense")
        for server in (mosquitto, redis, influx):
            assert server.process is not None
            backend_pids[server.name] = server.process.pid
    else:
        raise ValueError(f"unknown configuration {name!r}")
    if ack_group is not None:
        env["STORESENSE_INGEST__ACK_GROUP"] = str(ack_group)
    if ack_deadline_ms is not None:
        env["STORESENSE_INGEST__ACK_DEADLINE_MS"] = str(ack_deadline_ms)
    stack.callback(points.close)

    command = [sys.executable, "-m", "storesense.cli.main", "serve"]
    if profile is not None:
        profile.parent.mkdir(parents=True, exist_ok=True)
        command[1:1] = ["-m", "pyinstrument", "-r", "pyisession", "-o", str(profile)]
        stack.callback(render_profile, profile)  # runs once the service has stopped
    log = workdir / "service.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop it with SIGTERM, in order
        )
    stack.callback(_stop_process, process)
    _wait_running(process, log)
    return Service(
        name=name,
        broker_host="127.0.0.1",
        broker_port=broker_port,
        api=f"http://127.0.0.1:{api_port}",
        root="storesense",
        pid=process.pid,
        points=points,
        backend_pids=backend_pids,
        log=log,
    )


def render_profile(session: Path) -> None:
    """Write `<session>.txt`, with the broker and client libraries' frames shown: they are
    where much of the time goes, and pyinstrument hides library code by default."""
    if not session.exists():
        return
    subprocess.run(
        [
            sys.executable, "-m", "pyinstrument", "--load", str(session), "-r", "text",
            "-o", str(session.with_suffix(".txt")), "--no-color",
            "--show-regex", r".*/(amqtt|aiomqtt|paho|redis|httpx|httpcore|uvicorn)/.*",
            "-p", "processor_options.filter_threshold=0.005",
        ],
        check=False,
    )  # fmt: skip


S = TypeVar("S", bound=ServerProcess)


def _start_server(stack: ExitStack, server: S) -> S:
    stack.callback(server.stop)
    server.start()
    return server


# `storesense serve` creates the first admin of an empty user store and prints its password.
_FIRST_ADMIN = re.compile(r"created the first admin: user `([^`]+)`, password (\S+)")


def admin_headers(client: httpx.Client, service: Service, timeout: float = 30) -> dict[str, str]:
    """Authorization headers for the API, as the first admin that `serve` created (its
    password is in the service log); the access token lasts `api.auth.access_ttl_s`."""
    deadline = time.monotonic() + timeout
    while not (found := _FIRST_ADMIN.search(service.log.read_text(errors="replace"))):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no first admin in the service log:\n{tail(service.log)}")
        time.sleep(0.1)
    user, password = found.groups()
    response = client.post(
        f"{service.api}/api/v1/auth/login",
        json={"username": user, "password": password},
        timeout=30,
    ).raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _wait_running(process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited during start-up:\n{tail(log)}")
        # The composition root logs this once the API answers and ingest is subscribed.
        if "storesense running" in log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the service did not start within {timeout:.0f} s:\n{tail(log)}")


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return "(no log)"
