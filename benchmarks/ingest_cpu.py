"""CPU per event of the ingest pipeline in one process, without brokers or servers: the part
of `benchmarks/ingest_throughput.py`'s "service CPU µs/event" that is our Python, measured in
a way other work on the machine barely moves (process CPU time, not wall time).

The pipeline runs on the memory state store; points go to a sink that encodes them as
InfluxDB line protocol (what the InfluxDB writer sends) every 10 messages, as the ingest
service flushes per ack group. The workload is the throughput benchmark's (ingest_load.py).
Redis, InfluxDB HTTP and the MQTT client are not in it: compare with the full benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest_load import bench_members, device_messages
from prometheus_client import CollectorRegistry

from ingest.directory import DirectoryCache
from ingest.metrics import IngestMetrics
from ingest.pipeline import Pipeline
from rules.delivery.dispatcher import Dispatcher
from rules.raiser import AlertRaiser
from storesense.backends.state.memory import MemoryState
from storesense.backends.timeseries.base import Point
from storesense.backends.timeseries.line_protocol import encode_points
from storesense.protocol.alerts import Alert
from storesense.protocol.topics import Topics
from storesense.registry import stored
from storesense.settings import IngestSettings

WARM_UP_MESSAGES = 50
FLUSH_EVERY = 10  # messages, as the service's default ack group


class EncodingSink:
    """A PointSink that encodes what it is given as line protocol on flush."""

    def __init__(self) -> None:
        self._points: list[Point] = []
        self.encode_s = 0.0
        self.buffered = self.spooled = self.dropped = 0

    def submit(self, points: Sequence[Point]) -> None:
        self._points.extend(points)

    async def flush(self, deadline_s: float | None = None) -> None:
        started = time.process_time()
        encode_points(self._points)
        self.encode_s += time.process_time() - started
        self._points = []


class NoChannel:
    name = "none"

    async def deliver(self, alert: Alert) -> None:
        return None


async def run(args: argparse.Namespace) -> tuple[float, float, int]:
    state = MemoryState()
    await stored.save(state, bench_members(args.members, args.seed))
    sink = EncodingSink()
    messages = device_messages(
        events=args.events + WARM_UP_MESSAGES * args.batch_size, per_message=args.batch_size,
        tag="cpu", seed=args.seed, start_ms=int(time.time() * 1000) - args.events,
        root="storesense", store="bench",
    )  # fmt: skip
    async with Dispatcher([NoChannel()]) as dispatcher:
        pipeline = Pipeline(
            topics=Topics("storesense"),
            state=state,
            points=sink,
            directory=DirectoryCache(state),
            raiser=AlertRaiser(state, dispatcher, lambda _: "en"),
            metrics=IngestMetrics(CollectorRegistry()),
            settings=IngestSettings(),
        )
        for topic, payload in messages[:WARM_UP_MESSAGES]:
            await pipeline.handle(topic, payload)
        await sink.flush()
        sink.encode_s = 0.0
        measured = messages[WARM_UP_MESSAGES:]
        profile = cProfile.Profile() if args.profile else None
        started = time.process_time()
        if profile is not None:
            profile.enable()
        for index, (topic, payload) in enumerate(measured, 1):
            await pipeline.handle(topic, payload)
            if index % FLUSH_EVERY == 0:
                await sink.flush()
        await sink.flush()
        if profile is not None:
            profile.disable()
        used = time.process_time() - started
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)
    events = len(measured) * args.batch_size
    return used, sink.encode_s, events


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="CPU µs per event of the ingest pipeline in-process (memory state, "
        "line-protocol encoding), best of --rounds",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument(
        "--profile", type=int, default=0, help="print the top N functions (cProfile; slower)"
    )
    args = parser.parse_args(argv)
    results = [asyncio.run(run(args)) for _ in range(args.rounds)]
    for used, encode_s, events in results:
        print(
            f"{1e6 * used / events:.2f} µs/event CPU, of which line protocol "
            f"{1e6 * encode_s / events:.2f} ({events:,} events)"
        )
    best = min(1e6 * used / events for used, _, events in results)
    print(f"best: {best:.2f} µs/event")
    return 0


if __name__ == "__main__":
    sys.exit(main())
