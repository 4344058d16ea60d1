"""Beacon scanner cost and volume: advertisements per second through the pipeline (and
through recording decode + pipeline), and how many events they become.

    .venv/bin/python benchmarks/beacon_scanner.py [--beacons 200] [--seconds 300]

A store of `--beacons` devices (a third iBeacons at 10 Hz, a third Eddystone-UID at 1 Hz, a
third member phones at 4 Hz), each heard by three scanners, plus 20% unrelated traffic.
"""

from __future__ import annotations

import argparse
import random
import time

from edge.beacon.advertisements import Advertisement, app_service_uuid
from edge.beacon.pipeline import BeaconPipeline, PipelineSettings
from edge.beacon.recording import decode_line, encode_line
from edge.beacon.smoothing import KalmanParams
from edge.beacon.zones import ZoneMap

START = 1_764_150_000.0
SCANNERS = {"door": "entrance", "fitting": "fitting-rooms", "till": "checkout"}


def store(beacons: int, seconds: float, rng: random.Random) -> list[Advertisement]:
    adverts: list[Advertisement] = []
    for n in range(beacons):
        kind = n % 3
        rate = (10.0, 1.0, 4.0)[kind]
        near = rng.choice(list(SCANNERS))
        if kind == 0:
            data = b"\x02\x15" + rng.randbytes(16) + n.to_bytes(4, "big") + b"\xc5"
            fields: dict[str, object] = {"manufacturer_data": {0x004C: data}}
        elif kind == 1:
            frame = b"\x00\xe7" + rng.randbytes(16) + b"\x00\x00"
            fields = {"service_data": {"0000feaa-0000-1000-8000-00805f9b34fb": frame}}
        else:
            fields = {"service_uuids": (app_service_uuid(f"{rng.getrandbits(64):016x}"),)}
        at = START + rng.random() / rate
        while at < START + seconds:
            for scanner in SCANNERS:
                level = -58 if scanner == near else -85
                rssi = round(rng.gauss(level, 4))
                adverts.append(Advertisement(at, scanner, rssi, f"A{n}", **fields))  # type: ignore[arg-type]
            at += 1 / rate
    noise = len(adverts) // 5
    for _ in range(noise):
        at = START + rng.random() * seconds
        junk = {0x0006: rng.randbytes(8)}
        adverts.append(Advertisement(at, rng.choice(list(SCANNERS)), -70, "J", junk))
    adverts.sort(key=lambda a: a.time)
    return adverts


def pipeline() -> BeaconPipeline:
    zones = ZoneMap(scanners=SCANNERS, thresholds={"fitting-rooms": -70})
    return BeaconPipeline(PipelineSettings(zones=zones, kalman=KalmanParams()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beacons", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=300.0)
    args = parser.parse_args()
    adverts = store(args.beacons, args.seconds, random.Random(1))
    lines = [encode_line(a) for a in adverts]

    p = pipeline()
    started = time.perf_counter()
    events = 0
    for index, advert in enumerate(adverts):
        events += len(p.observe(advert))
        if index % 256 == 0:
            p.sweep(advert.time)
    elapsed = time.perf_counter() - started
    print(f"{len(adverts):,} adverts ({args.beacons} beacons, {args.seconds:.0f} s, 3 scanners)")
    each_us = elapsed * 1e6 / len(adverts)
    print(f"pipeline: {len(adverts) / elapsed:,.0f} adverts/s ({each_us:.1f} µs each)")
    print(f"events: {events:,}, {len(adverts) / events:.0f} adverts per event")

    p = pipeline()
    started = time.perf_counter()
    for line in lines:
        p.observe(decode_line(line))
    elapsed = time.perf_counter() - started
    print(f"recording decode + pipeline: {len(lines) / elapsed:,.0f} adverts/s")


if __name__ == "__main__":
    main()
