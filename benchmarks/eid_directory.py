"""Rotating app IDs with many enrolled members: the per-window table build and the lookup.

    .venv/bin/python benchmarks/eid_directory.py [--members 1000000] [--lookups 200000]

Builds a MemberDirectory of N consenting members with app keys and times one 15-minute
window's table: the hashing (which DirectoryCache runs in a process pool ahead of each
window) and the install in the ingest process; then the table's memory and the lookup time
per sighting for hits and misses (window ±1 checked).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import time
import tracemalloc

from ingest.identity import MemberDirectory, eids_for_window
from storesense.protocol.eid import eid_for_window
from storesense.registry.members import Member


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=200_000)
    args = parser.parse_args()
    rng = random.Random(1)
    keys = [rng.randbytes(16) for _ in range(args.members)]
    members = [
        Member(member_id=f"m{i}", name=f"M {i}", consent=True, app_key=key.hex())
        for i, key in enumerate(keys)
    ]
    started = time.perf_counter()
    directory = MemberDirectory(members)
    load_s = time.perf_counter() - started

    window = 2_000_000
    started = time.perf_counter()
    eids = eids_for_window(directory.app_keys, window)  # what the process pool runs
    hash_s = time.perf_counter() - started
    tracemalloc.start()
    started = time.perf_counter()
    directory.install(window, eids)  # what the ingest process then does in a thread
    install_s = time.perf_counter() - started
    table_bytes, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    directory.prepare(window - 1)
    directory.prepare(window + 1)

    ts_ms = (window * 900 + 450) * 1000
    hits = [eid_for_window(keys[rng.randrange(args.members)], window) for _ in range(args.lookups)]
    misses = [os.urandom(8).hex() for _ in range(args.lookups)]
    for name, sample in (("hit", hits), ("miss (checks 3 windows)", misses)):
        started = time.perf_counter()
        found = sum(directory.by_app_id(eid, ts_ms) is not None for eid in sample)
        per = (time.perf_counter() - started) / len(sample)
        print(f"lookup {name}: {per * 1e6:.2f} µs per sighting ({found} found)")
    print(f"members: {args.members:,}; directory load {load_s:.1f} s")
    print(
        f"one window table: hashing {hash_s:.1f} s (process pool), install {install_s:.2f} s "
        f"(thread), {table_bytes / 2**20:.0f} MiB"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the whole benchmark (3 windows + registry): {rss:.0f} MiB")


if __name__ == "__main__":
    main()
