"""RFID presence filter throughput: raw reads per second on one core, through the filter
alone and through log parsing (JSONL, CSV) + filter, and how many presence changes result.

    .venv/bin/python benchmarks/rfid_filter.py [--reads 1000000] [--tags 200] [--antennas 8]

A synthetic store: `--antennas` antennas, two per zone; `--tags` tags, each staying in a
zone for 20-120 s (read by both its antennas, 30% missed, and by the next zone's first
antenna 6-18 dB weaker), then out of range for 5-60 s. That is about 2,000 reads/s of
recorded time (a busy reader), 1% of them up to 400 ms out of order.
"""

from __future__ import annotations

import argparse
import heapq
import random
import tempfile
import threading
import time
from pathlib import Path

from edge.rfid.filter import FilterConfig, PresenceFilter
from edge.rfid.reads import RawRead
from edge.rfid.sources import ReplaySource

START_MS = 1_764_151_200_000


def synthetic_reads(count: int, tags: int, antennas: int, seed: int) -> list[RawRead]:
    """`count` reads in delivery order."""
    rng = random.Random(seed)
    zones = max(1, antennas // 2)
    epcs = [f"30342{rng.getrandbits(76):019x}" for _ in range(tags)]
    # Event queue of (next inventory round, tag); tags alternate between in a zone and away.
    state = [(rng.randrange(zones), START_MS + rng.randrange(120_000)) for _ in range(tags)]
    queue = [(START_MS + rng.randrange(1_000), tag) for tag in range(tags)]
    heapq.heapify(queue)
    reads: list[RawRead] = []
    cycle_ms = max(1, round(tags * 3 / 5))  # ~2,000 reads/s of recorded time for 200 tags
    while len(reads) < count:
        at, tag = heapq.heappop(queue)
        zone, until = state[tag]
        if at >= until:  # stay over: away for a while, then another zone
            away = rng.randrange(5_000, 60_000)
            state[tag] = (rng.randrange(zones), at + away + rng.randrange(20_000, 120_000))
            heapq.heappush(queue, (at + away, tag))
            continue
        level = rng.uniform(-62.0, -48.0)
        for antenna in (2 * zone + 1, 2 * zone + 2):
            if rng.random() >= 0.3:
                late = rng.randrange(50, 400) if rng.random() < 0.01 else 0
                reads.append(RawRead(at - late, epcs[tag], antenna, round(level, 1)))
        if zones > 1 and rng.random() < 0.3:
            neighbour = (zone + 1) % zones
            weaker = level - rng.uniform(6.0, 18.0)
            reads.append(RawRead(at + 5, epcs[tag], 2 * neighbour + 1, round(weaker, 1)))
        heapq.heappush(queue, (at + cycle_ms + rng.randrange(0, 10), tag))
    return reads[:count]


def config(antennas: int) -> FilterConfig:
    return FilterConfig(antennas={a: f"zone-{(a - 1) // 2 + 1}" for a in range(1, antennas + 1)})


def timed_filter(reads: list[RawRead], antennas: int) -> tuple[float, int]:
    f = PresenceFilter(config(antennas))
    started = time.perf_counter()
    changes = 0
    for i in range(0, len(reads), 1000):  # batches, as the agent feeds them
        batch = reads[i : i + 1000]
        changes += len(f.feed(batch))
        changes += len(f.tick(batch[-1].ts_ms))
    return time.perf_counter() - started, changes


def timed_replay(path: Path, antennas: int, with_filter: bool) -> tuple[float, int]:
    f = PresenceFilter(config(antennas))
    started = time.perf_counter()
    count = 0
    for batch in ReplaySource(path).batches(threading.Event()):
        count += len(batch.reads)
        if with_filter:
            f.feed(batch.reads)
            f.tick(batch.now_ms)
    return time.perf_counter() - started, count


def write_logs(reads: list[RawRead], directory: Path) -> tuple[Path, Path]:
    jsonl, csv = directory / "reads.jsonl", directory / "reads.csv"
    with jsonl.open("w") as handle:
        for r in reads:
            handle.write(
                f'{{"ts":{r.ts_ms},"epc":"{r.epc}","antenna":{r.antenna},"rssi":{r.rssi}}}\n'
            )
    with csv.open("w") as handle:
        handle.write("ts,epc,antenna,rssi\n")
        for r in reads:
            handle.write(f"{r.ts_ms},{r.epc},{r.antenna},{r.rssi}\n")
    return jsonl, csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1_000_000)
    parser.add_argument("--tags", type=int, default=200)
    parser.add_argument("--antennas", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    reads = synthetic_reads(args.reads, args.tags, args.antennas, args.seed)
    span_s = (reads[-1].ts_ms - reads[0].ts_ms) / 1000
    print(
        f"{len(reads):,} reads, {args.tags} tags, {args.antennas} antennas, "
        f"{span_s:,.0f} s recorded ({len(reads) / span_s:,.0f} reads/s)"
    )
    elapsed, changes = timed_filter(reads, args.antennas)
    each_us = elapsed * 1e6 / len(reads)
    print(f"filter: {len(reads) / elapsed:,.0f} reads/s ({each_us:.2f} µs each)")
    print(f"presence changes: {changes:,} ({len(reads) / max(changes, 1):,.0f} reads per change)")
    with tempfile.TemporaryDirectory() as directory:
        jsonl, csv = write_logs(reads, Path(directory))
        for name, path in (("jsonl", jsonl), ("csv", csv)):
            elapsed, count = timed_replay(path, args.antennas, with_filter=False)
            print(f"{name} parse: {count / elapsed:,.0f} reads/s")
            elapsed, count = timed_replay(path, args.antennas, with_filter=True)
            print(f"{name} parse + filter: {count / elapsed:,.0f} reads/s")


if __name__ == "__main__":
    main()
