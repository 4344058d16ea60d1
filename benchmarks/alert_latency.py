"""Alert latency end to end: a device event published over MQTT -> the alert received by a
WebSocket client of the API, under background device load, through real Mosquitto, Redis
and InfluxDB 1.x (private servers on free ports). Results go to docs/benchmarks.md.

Processes: the service (`python -m storesense.cli.main serve`), a publisher (paho, QoS 1)
sending background events at a fixed rate with member card reads ("probes") spread over the
run, and this script holding the WebSocket. Each probe starts a member's visit, so the
`member.arrived` rule raises one alert for it; the latency is probe publish -> first alert
for that member on the WebSocket (both clocks are this machine's monotonic clock).

The API needs a token since authentication landed: the script adds an hq_admin (for the
member import) and an assistant of the bench store (the WebSocket client, as a shop
assistant's phone) to the benchmark's Redis through `api.auth.bootstrap`, logs both in
over the API and opens the WebSocket with `?access_token=`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, for `tests.servers`

from ingest_load import PublishJob, PublishResult, bench_members, members_csv, publisher_main
from ingest_service import Service, start_service, tail

from api.auth.bootstrap import add_user
from api.auth.passwords import generate_password
from api.auth.roles import Role
from storesense.backends.state.redis import RedisState
from storesense.settings import StateSettings

STORE = "bench"
ADMIN, ASSISTANT = "bench-admin", "bench-assistant"


def _service_state(service: Service) -> tuple[str, str]:
    """The Redis URL and key prefix the service runs with (from its environment: the
    benchmark servers are private, on free ports)."""
    raw = Path(f"/proc/{service.pid}/environ").read_bytes()
    env = dict(item.partition("=")[::2] for item in raw.decode(errors="replace").split("\0"))
    url = env.get("STORESENSE_STATE__REDIS_URL")
    if not url:
        raise RuntimeError("the service runs without Redis; the benchmark needs `external`")
    return url, env.get("STORESENSE_STATE__KEY_PREFIX") or StateSettings().key_prefix


async def _add_users(url: str, prefix: str, password: str) -> None:
    state = RedisState(url, prefix=prefix)
    users: tuple[tuple[str, Role, tuple[str, ...]], ...] = (
        (ADMIN, "hq_admin", ()), (ASSISTANT, "assistant", (STORE,)),
    )  # fmt: skip
    try:
        for user_id, role, stores in users:
            await add_user(state, user_id, name=user_id, role=role, stores=stores,
                           password=password)  # fmt: skip
    finally:
        await state.close()


def log_in(http: httpx.Client, service: Service) -> dict[str, str]:
    """Add the benchmark's users to the service's Redis and log them in: user -> token."""
    password = generate_password()
    asyncio.run(_add_users(*_service_state(service), password))
    tokens = {}
    for user in (ADMIN, ASSISTANT):
        response = http.post(
            f"{service.api}/api/v1/auth/login",
            json={"username": user, "password": password},
            timeout=60,
        ).raise_for_status()
        tokens[user] = response.json()["access_token"]
    return tokens


class WebSocketAlerts:
    """Holds `/api/v1/alerts/ws` open in a thread; notes each member's first alert."""

    def __init__(self, api: str, token: str) -> None:
        self.received: dict[str, float] = {}  # member id -> monotonic
        self.messages = 0
        url = api.replace("http", "ws", 1) + f"/api/v1/alerts/ws?store={STORE}"
        self._socket = connect(f"{url}&access_token={token}")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for raw in self._socket:
                now = time.monotonic()
                self.messages += 1
                alert = json.loads(raw)
                member = (alert.get("member") or {}).get("id")
                if alert.get("type") == "member.arrived" and member:
                    self.received.setdefault(member, now)
        except Exception:  # closed at the end of the run
            return

    def close(self) -> None:
        self._socket.close()
        self._thread.join(5)


@contextmanager
def publisher(job: PublishJob) -> Iterator[Connection]:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=publisher_main, args=(job, theirs), daemon=True)
    process.start()
    try:
        if not ours.poll(120) or ours.recv() != "ready":
            raise RuntimeError("the publisher did not get ready")
        yield ours
    finally:
        if process.is_alive():
            process.terminate()
        process.join(10)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=500, help="background events/s")
    parser.add_argument("--seconds", type=float, default=60, help="length of the run")
    parser.add_argument("--probes", type=int, default=300, help="member arrivals in the run")
    parser.add_argument("--per-message", type=int, default=1, help="background events/message")
    parser.add_argument("--window", type=int, default=20, help="publisher's unacked messages")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)

    members = bench_members(args.probes, args.seed)
    load_start = os.getloadavg()
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="alert-latency-") as tmp:
        service = start_service(stack, "external", Path(tmp))
        try:
            with httpx.Client() as http:
                tokens = log_in(http, service)  # access tokens live 15 min: enough here
                http.post(
                    f"{service.api}/api/v1/members/import",
                    content=members_csv(members).encode(),
                    headers={
                        "Content-Type": "text/csv",
                        "Authorization": f"Bearer {tokens[ADMIN]}",
                    },
                    timeout=60,
                ).raise_for_status()
            socket = WebSocketAlerts(service.api, tokens[ASSISTANT])
            stack.callback(socket.close)
            events = int(args.rate * args.seconds) // args.per_message * args.per_message
            job = PublishJob(
                host=service.broker_host, port=service.broker_port, root=service.root,
                store=STORE, tag=os.urandom(3).hex(), seed=args.seed, events=events,
                per_message=args.per_message, window=args.window, rate=args.rate,
                probes=tuple((m.member_id, m.card_epcs[0]) for m in members),
            )  # fmt: skip
            print(f"publishing {events} events at {args.rate:.0f}/s with "
                  f"{len(members)} probes", file=sys.stderr)  # fmt: skip
            with publisher(job) as conn:
                conn.send("go")
                if not conn.poll(args.seconds * 3 + 120):
                    raise RuntimeError("the publisher did not finish")
                result: PublishResult = conn.recv()
            if result.error:
                raise RuntimeError(result.error)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(socket.received) < len(members):
                time.sleep(0.1)
        except BaseException:
            print(f"service log (tail):\n{tail(service.log)}", file=sys.stderr)
            raise
    latencies = sorted(
        1000 * (socket.received[member] - sent)
        for member, sent in result.probe_sent.items()
        if member in socket.received
    )
    achieved = events / max(1e-9, result.last_publish - result.first_publish)
    figures = {
        "date": started,
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_start": load_start,
        "loadavg_end": os.getloadavg(),
        "background_rate": args.rate,
        "achieved_rate": achieved,
        "per_message": args.per_message,
        "probes_sent": len(result.probe_sent),
        "alerts_received": len(latencies),
        "p50_ms": percentile(latencies, 0.50) if latencies else None,
        "p90_ms": percentile(latencies, 0.90) if latencies else None,
        "p99_ms": percentile(latencies, 0.99) if latencies else None,
        "max_ms": latencies[-1] if latencies else None,
        "min_ms": latencies[0] if latencies else None,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps({**figures, "latencies_ms": latencies}))
    return 0 if latencies else 1


if __name__ == "__main__":
    raise SystemExit(main())
