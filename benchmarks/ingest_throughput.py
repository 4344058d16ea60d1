"""Ingest throughput and alert latency of `storesense serve`, on embedded defaults and on real
Mosquitto + Redis + InfluxDB 1.x. Results go to docs/benchmarks.md.

Three processes per run: the service (`python -m storesense.cli.main serve`, configured by
STORESENSE_* variables), a publisher (paho-mqtt, QoS 1, a window of unacknowledged
messages), and this script, which reads /metrics and the time-series store and receives the
alerts. External servers are private: started on free ports in a temp dir, stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, for `tests.servers`

from ingest_load import (
    AlertSubscriber,
    PublishJob,
    PublishResult,
    bench_members,
    members_csv,
    publisher_main,
)
from ingest_service import (
    Service,
    admin_headers,
    histogram_quantile,
    scrape,
    start_service,
    tail,
)

from storesense.registry.members import Member

STORE = "bench"
POLL_S = 0.1  # while draining after a latency run


@dataclass
class Throughput:
    config: str
    shape: int
    events: int
    acked_s: float | None = None  # first publish -> publisher has every PUBACK
    accepted_s: float | None = None  # first publish -> service counted all N accepted
    stored_s: float | None = None  # first publish -> all N points in the time-series store
    accepted: int = 0  # when the phase ended (all done or timed out)
    stored: int = 0
    rejected: int = 0
    cpu_pct: dict[str, float] = field(default_factory=dict)  # first publish -> all accepted
    service_cpu_s: float | None = None  # the service process' CPU over the same span

    def cpu_us_per_event(self) -> float | None:
        """Service CPU per event: unlike events/s, barely moved by other work on the box."""
        return None if self.service_cpu_s is None else 1e6 * self.service_cpu_s / self.events

    def rate(self, seconds: float | None, done: int) -> float | None:
        return None if not seconds else done / seconds


@dataclass
class Latency:
    config: str
    shape: int
    rate: float  # background events/s asked for
    achieved_rate: float  # background events/s the publisher managed
    events: int
    probes_sent: int
    probes_alerted: int
    latency_ms: list[float]
    # (s after the first publish, ms) per probe in publish order: shows whether slow probes
    # cluster (a stall) or spread (queueing)
    probe_series: list[tuple[float, float]]
    processing: dict[str, tuple[float, bool] | None]  # "p50"/"p99" -> (seconds, in +Inf bucket)
    cpu_pct: dict[str, float]
    # Last publish -> all accepted: near zero when the service kept up, long when it fell
    # behind (then the latencies measure a growing backlog, not steady state).
    lag_s: float | None = None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Measure storesense ingest: (1) throughput, events/s from the first publish until "
            "the service has accepted all N (storesense_ingest_events_accepted_total on "
            "/metrics) and until all N points are in the time-series store; (2) alert latency, "
            "publish -> member.arrived alert on the MQTT alerts topic, for probe card reads "
            "mixed into steady background traffic. Each is run for single-event messages and "
            "for batches, on each configuration. Prints Markdown tables."
        ),
        epilog=(
            "Configurations: 'embedded' = the defaults (amqtt broker in the service process, "
            "memory state, SQLite time series); 'external' = private Mosquitto + Redis + "
            "InfluxDB 1.x started by this script (needs mosquitto, redis-server, influxd). "
            "Example: .venv/bin/python benchmarks/ingest_throughput.py --configs embedded "
            "--events-single 5000"
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--configs",
        default="embedded,external",
        help="comma-separated configurations to run: embedded, external",
    )
    parser.add_argument(
        "--events-single", type=int, default=10_000, help="N for single-event messages"
    )
    parser.add_argument("--events-batch", type=int, default=100_000, help="N for batched messages")
    parser.add_argument("--batch-size", type=int, default=100, help="events per batched message")
    parser.add_argument(
        "--shapes",
        default="single,batch",
        help="comma-separated message shapes to run: single (1 event/msg), batch (--batch-size)",
    )
    parser.add_argument(
        "--window",
        type=int,
        default=1000,
        help="unacknowledged QoS 1 messages the publisher allows",
    )
    parser.add_argument(
        "--latency-load",
        type=float,
        default=0.5,
        help="background rate during the latency run, as a share of the accepted rate just "
        "measured for the same configuration and message shape",
    )
    parser.add_argument(
        "--latency-rate",
        type=float,
        default=None,
        help="a fixed background rate in events/s instead of --latency-load",
    )
    parser.add_argument("--latency-seconds", type=float, default=20, help="length of a latency run")
    parser.add_argument(
        "--probe-rate", type=float, default=20, help="member card reads (alerts) per second"
    )
    parser.add_argument(
        "--members",
        type=int,
        default=2000,
        help="consenting members loaded; each probe uses a fresh one (one alert per visit)",
    )
    parser.add_argument(
        "--timeout", type=float, default=90, help="give up on a throughput run after this long"
    )
    parser.add_argument(
        "--broker-inflight",
        type=int,
        default=None,
        help="external only: Mosquitto's max_inflight_messages (its default: 20). Acks "
        "wait for the time-series write, so this window bounds messages per write cycle",
    )
    parser.add_argument(
        "--ack-group",
        type=int,
        default=None,
        help="STORESENSE_INGEST__ACK_GROUP for the service (default: the setting's, 10); "
        "keep it at about half of --broker-inflight",
    )
    parser.add_argument(
        "--ack-deadline-ms",
        type=int,
        default=None,
        help="STORESENSE_INGEST__ACK_DEADLINE_MS for the service (default: the setting's, 30; "
        "0 = acks always wait for the time-series write)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--profile-dir",
        type=Path,
        default=None,
        help="run the service under pyinstrument; write <config>.pyisession and <config>.txt "
        "here. The profiler slows the service: for where the time goes, not for figures",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write raw results here")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work dir (service logs, data) for a look"
    )
    args = parser.parse_args(argv)
    args.configs = [name.strip() for name in args.configs.split(",") if name.strip()]
    args.shapes = [name.strip() for name in args.shapes.split(",") if name.strip()]
    if not args.shapes or set(args.shapes) - {"single", "batch"}:
        parser.error("--shapes takes single and/or batch")
    unknown = set(args.configs) - {"embedded", "external"}
    if unknown:
        parser.error(f"unknown configuration(s): {', '.join(sorted(unknown))}")
    for missing in [b for b in ("mosquitto", "redis-server", "influxd") if not shutil.which(b)]:
        if "external" in args.configs:
            parser.error(f"'external' needs {missing} on PATH (scripts/test installs it)")
    probes = int(args.probe_rate * args.latency_seconds)
    if probes * 2 > args.members:
        parser.error(f"--members must be at least {probes * 2}: two runs of {probes} probes")
    return args


# --- the publisher process ---------------------------------------------------------------


@contextmanager
def publisher(job: PublishJob) -> Iterator[Connection]:
    """A publisher process that has connected and built its messages; send "go" to start."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=publisher_main, args=(job, theirs), daemon=True)
    process.start()
    try:
        if not ours.poll(120):
            raise RuntimeError("the publisher did not get ready within 120 s")
        ready = ours.recv()
        if ready != "ready":
            raise RuntimeError(f"the publisher failed before starting: {ready.error}")
        yield ours
    finally:
        if process.is_alive():
            process.terminate()
        process.join(10)


def collect(conn: Connection, timeout: float) -> PublishResult:
    if not conn.poll(timeout):
        raise RuntimeError(f"the publisher did not finish within {timeout:.0f} s")
    result: PublishResult = conn.recv()
    if result.error:
        raise RuntimeError(f"the publisher failed: {result.error}")
    return result


def poll_delay(done: int, total: int, elapsed: float) -> float:
    """Seconds until the next progress poll: half the predicted time left, between 50 ms and
    1 s. Each /metrics scrape costs the service CPU (several ms), so poll rarely while far
    from done and often near the end, where the poll sets the measured time."""
    if done <= 0:
        return 0.25
    left = (total - done) / (done / elapsed)
    return min(1.0, max(0.05, left / 2))


def cpu_pct(
    before: dict[str, float], after: dict[str, float], seconds: float, publisher_cpu_s: float
) -> dict[str, float]:
    """Each process' CPU use over `seconds` in % of one core; "others" is what the rest of
    the machine used meanwhile (other work competes for the same cores)."""
    used = {name: after[name] - before[name] for name in after}
    used["publisher"] = publisher_cpu_s
    used["others"] = max(0.0, used.pop("machine") - sum(used.values()))
    return {name: 100 * value / seconds for name, value in used.items()}


# --- the two measurements ----------------------------------------------------------------


def measure_throughput(
    service: Service, http: httpx.Client, args: argparse.Namespace, shape: int, tag: str
) -> Throughput:
    events = args.events_single if shape == 1 else args.events_batch
    row = Throughput(service.name, shape, events)
    base = scrape(http, service.api)
    base_points = service.points.count()
    job = PublishJob(
        host=service.broker_host, port=service.broker_port, root=service.root, store=STORE,
        tag=tag, seed=args.seed + shape, events=events, per_message=shape, window=args.window,
    )  # fmt: skip
    result: PublishResult | None = None
    with publisher(job) as conn:
        cpu_before = service.cpu_s()
        go = time.monotonic()
        conn.send("go")
        accepted_at = stored_at = None
        next_metrics = next_points = go + 0.25
        while time.monotonic() - go < args.timeout:
            time.sleep(max(0.0, min(next_metrics, next_points) - time.monotonic()))
            now = time.monotonic()
            if result is None and conn.poll():
                result = collect(conn, 0)
            if accepted_at is None and now >= next_metrics:
                metrics = scrape(http, service.api)
                row.accepted = int(metrics.accepted - base.accepted)
                row.rejected = int(metrics.rejected - base.rejected)
                if row.accepted >= events:
                    accepted_at = time.monotonic()
                    cpu_after = service.cpu_s()
                next_metrics = now + poll_delay(row.accepted, events, now - go)
            if stored_at is None and now >= next_points:
                row.stored = service.points.count() - base_points
                if row.stored >= events:
                    stored_at = time.monotonic()
                next_points = now + poll_delay(row.stored, events, now - go)
            if accepted_at is not None and stored_at is not None:
                break
            if accepted_at is not None:
                next_metrics = float("inf")
            if stored_at is not None:
                next_points = float("inf")
        if result is None:
            result = collect(conn, 30)
    first = result.first_publish
    if accepted_at is not None:
        row.cpu_pct = cpu_pct(cpu_before, cpu_after, accepted_at - go, result.cpu_s)
        row.service_cpu_s = cpu_after["service"] - cpu_before["service"]
    row.acked_s = result.all_acked - first
    row.accepted_s = None if accepted_at is None else accepted_at - first
    row.stored_s = None if stored_at is None else stored_at - first
    return row


def measure_latency(
    service: Service,
    http: httpx.Client,
    subscriber: AlertSubscriber,
    args: argparse.Namespace,
    shape: int,
    rate: float,
    members: list[Member],
    tag: str,
) -> Latency:
    events = max(shape, int(rate * args.latency_seconds) // shape * shape)
    probes = tuple((m.member_id, m.card_epcs[0]) for m in members)
    job = PublishJob(
        host=service.broker_host, port=service.broker_port, root=service.root, store=STORE,
        tag=tag, seed=args.seed + 100 + shape, events=events, per_message=shape,
        window=args.window, rate=rate, probes=probes,
    )  # fmt: skip
    before = scrape(http, service.api)
    base_points = service.points.count()
    with publisher(job) as conn:
        cpu_before = service.cpu_s()
        go = time.monotonic()
        conn.send("go")
        result = collect(conn, args.latency_seconds * 3 + 60)
    # Drain: every event accepted and stored, every probe's alert in (or given up on).
    deadline = time.monotonic() + 60
    expected = events + len(probes)
    caught_up: float | None = None
    while time.monotonic() < deadline:
        after = scrape(http, service.api)
        if caught_up is None and after.accepted - before.accepted >= expected:
            caught_up = time.monotonic()
        if caught_up is not None and all(member in subscriber.received for member, _ in probes):
            break
        time.sleep(POLL_S)
    cpu = cpu_pct(cpu_before, service.cpu_s(), time.monotonic() - go, result.cpu_s)
    while time.monotonic() < deadline and service.points.count() - base_points < expected:
        time.sleep(POLL_S)
    latencies = sorted(
        1000 * (subscriber.received[member] - sent)
        for member, sent in result.probe_sent.items()
        if member in subscriber.received
    )
    series = sorted(
        (sent - result.first_publish, 1000 * (subscriber.received[member] - sent))
        for member, sent in result.probe_sent.items()
        if member in subscriber.received
    )
    return Latency(
        config=service.name,
        shape=shape,
        rate=rate,
        achieved_rate=events / max(1e-9, result.last_publish - result.first_publish),
        events=events,
        probes_sent=len(result.probe_sent),
        probes_alerted=len(latencies),
        latency_ms=latencies,
        probe_series=series,
        processing={
            "p50": histogram_quantile(0.50, before, after),
            "p99": histogram_quantile(0.99, before, after),
        },
        cpu_pct=cpu,
        lag_s=None if caught_up is None else max(0.0, caught_up - result.last_publish),
    )


def secured_points(http: httpx.Client, service: Service) -> str:
    """How many points the ack deadline sent to the spool so far (from /metrics)."""
    text = http.get(f"{service.api}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("storesense_timeseries_secured_points "):
            return f"points spooled at the ack deadline so far: {float(line.split()[1]):,.0f}"
    return "points spooled at the ack deadline: not reported"


def run_configuration(
    name: str, args: argparse.Namespace, workdir: Path
) -> tuple[list[Throughput], list[Latency]]:
    profile = args.profile_dir / f"{name}.pyisession" if args.profile_dir else None
    members = bench_members(args.members, args.seed)
    probes_per_run = int(args.probe_rate * args.latency_seconds)
    throughputs: list[Throughput] = []
    latencies: list[Latency] = []
    with ExitStack() as stack:
        print(f"[{name}] starting", file=sys.stderr)
        service = start_service(
            stack,
            name,
            workdir,
            profile,
            args.broker_inflight,
            args.ack_group,
            args.ack_deadline_ms,
        )
        try:
            http = stack.enter_context(httpx.Client())
            http.post(
                f"{service.api}/api/v1/members/import",
                content=members_csv(members).encode(),
                headers={"Content-Type": "text/csv", **admin_headers(http, service)},
                timeout=60,
            ).raise_for_status()
            subscriber = AlertSubscriber(
                service.broker_host, service.broker_port, f"{service.root}/v1/{STORE}/alerts"
            )
            stack.callback(subscriber.stop)
            run = os.urandom(3).hex()
            for index, shape in enumerate((1, args.batch_size)):
                if ("single" if shape == 1 else "batch") not in args.shapes:
                    continue
                label = "single" if shape == 1 else f"batch{shape}"
                print(f"[{name}] throughput, {label}", file=sys.stderr)
                row = measure_throughput(service, http, args, shape, f"t{run}{label}")
                throughputs.append(row)
                print(f"[{name}]   {_throughput_summary(row)}", file=sys.stderr)
                measured = row.rate(row.accepted_s, row.events) or 0.0
                rate = args.latency_rate or args.latency_load * measured
                if rate <= 0:
                    print(f"[{name}]   no accepted rate: latency run skipped", file=sys.stderr)
                    continue
                print(f"[{name}] latency, {label}, {rate:.0f} events/s", file=sys.stderr)
                chosen = members[index * probes_per_run : (index + 1) * probes_per_run]
                latency = measure_latency(
                    service, http, subscriber, args, shape, rate, chosen, f"l{run}{label}"
                )
                latencies.append(latency)
                print(f"[{name}]   {_latency_summary(latency)}", file=sys.stderr)
            print(f"[{name}]   {secured_points(http, service)}", file=sys.stderr)
        except BaseException:
            print(f"[{name}] service log (tail):\n{tail(service.log)}", file=sys.stderr)
            raise
    return throughputs, latencies


# --- report ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return None
    return values[min(len(values) - 1, max(0, int(q * len(values) + 0.999999) - 1))]


def _fmt(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _shape(shape: int) -> str:
    return "1 event/msg" if shape == 1 else f"{shape} events/msg"


def _throughput_summary(row: Throughput) -> str:
    return (
        f"accepted {row.accepted}/{row.events} in {_fmt(row.accepted_s, 2)} s, "
        f"stored {row.stored} in {_fmt(row.stored_s, 2)} s, rejected {row.rejected}"
    )


def _latency_summary(row: Latency) -> str:
    return (
        f"{row.probes_alerted}/{row.probes_sent} alerts, p50 "
        f"{_fmt(percentile(row.latency_ms, 0.5), 1)} ms, p99 "
        f"{_fmt(percentile(row.latency_ms, 0.99), 1)} ms"
    )


def _quantile(value: tuple[float, bool] | None) -> str:
    if value is None:
        return "–"
    seconds, open_ended = value
    return f"> {seconds * 1000:,.1f}" if open_ended else f"{seconds * 1000:,.2f}"


def _cpu(cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {pct:.0f}" for name, pct in cpu.items())


def throughput_table(rows: list[Throughput]) -> str:
    lines = [
        "| config | messages | N events | publisher all PUBACKs (s) | accepted: s → events/s "
        "| stored: s → events/s | service CPU µs/event | CPU % while accepting (100 = one "
        "core) |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        accepted = f"{_fmt(row.accepted_s, 2)} → {_fmt(row.rate(row.accepted_s, row.events))}"
        stored = f"{_fmt(row.stored_s, 2)} → {_fmt(row.rate(row.stored_s, row.events))}"
        if row.accepted_s is None:
            accepted = f"timed out ({row.accepted:,} accepted)"
        if row.stored_s is None:
            stored = f"timed out ({row.stored:,} stored)"
        lines.append(
            f"| {row.config} | {_shape(row.shape)} | {row.events:,} | {_fmt(row.acked_s, 2)} "
            f"| {accepted} | {stored} | {_fmt(row.cpu_us_per_event())} | {_cpu(row.cpu_pct)} |"
        )
    return "\n".join(lines)


def latency_table(rows: list[Latency]) -> str:
    lines = [
        "| config | background messages | background events/s (achieved) | alerts received "
        "| publish → alert p50 / p99 / max (ms) | service processing p50 / p99 (ms, per "
        "message, from histogram buckets) | all accepted, s after last publish | CPU % during "
        "run |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lat = row.latency_ms
        lines.append(
            f"| {row.config} | {_shape(row.shape)} | {row.rate:,.0f} ({row.achieved_rate:,.0f}) "
            f"| {row.probes_alerted}/{row.probes_sent} "
            f"| {_fmt(percentile(lat, 0.5), 1)} / {_fmt(percentile(lat, 0.99), 1)} / "
            f"{_fmt(lat[-1] if lat else None, 1)} "
            f"| {_quantile(row.processing['p50'])} / {_quantile(row.processing['p99'])} "
            f"| {_fmt(row.lag_s, 2) if row.lag_s is not None else 'not within 60 s'} "
            f"| {_cpu(row.cpu_pct)} |"
        )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    model = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "loadavg": os.getloadavg(),
    }


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)  # stop everything as on Ctrl-C
    started = machine()
    workdir = Path(tempfile.mkdtemp(prefix="storesense-bench-"))
    throughputs: list[Throughput] = []
    latencies: list[Latency] = []
    try:
        for name in args.configs:
            rows, lat_rows = run_configuration(name, args, workdir / name)
            throughputs += rows
            latencies += lat_rows
    except KeyboardInterrupt:
        print("interrupted: everything started was stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"work dir kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    ended = machine()
    command = " ".join(["python", *sys.argv])
    print(f"command: `{command}`  ")
    print(f"date: {started['date']}; nproc {started['nproc']}; {started['cpu']}; "
          f"Python {started['python']}  ")  # fmt: skip
    print(
        "load average (1/5/15 min) at start: "
        + " / ".join(f"{v:.2f}" for v in started["loadavg"])
        + "; at end: "
        + " / ".join(f"{v:.2f}" for v in ended["loadavg"])
    )
    print()
    print(throughput_table(throughputs))
    print()
    print(latency_table(latencies))
    if args.profile_dir:
        print(f"\nservice profiles (pyinstrument): {args.profile_dir}/<config>.txt")
        print("  (slowed by the profiler: do not quote the figures above)")
    if args.json:
        raw = {
            "machine": {"start": started, "end": ended},
            "throughput": [asdict(r) for r in throughputs],
            "latency": [asdict(r) for r in latencies],
        }
        args.json.write_text(json.dumps(raw, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
