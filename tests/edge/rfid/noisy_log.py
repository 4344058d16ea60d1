"""A seeded generator of noisy raw-read logs from two neighbouring fitting rooms, with the
ground truth of which garment was where.

The noise is what fitting-room readers see: each antenna misses a tag in some inventory
cycles (`drop`); the antenna on the shared wall of the next room reads it too, weaker
(`cross`); reads come in bursts (a reader flushing accumulated reads, a curtain swinging);
a body blocks a room's antennas for a few seconds (`occlusion`) while the next room still
cross-reads; and some reads reach us late, out of order (`late`). One garment is carried
from room 1 to room 2; one is tried on twice; one hangs on the shared wall, where the next
room reads it almost as strongly as its own room does (but less often).

`python -m tests.edge.rfid.noisy_log` rewrites the committed test data
(tests/edge/rfid/data/noisy_fitting_rooms.{jsonl,truth.json}).
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path

from edge.rfid.reads import RawRead
from storesense.protocol.sgtin import encode_sgtin96, make_gtin14

ROOM_1 = "fitting-room-1"
ROOM_2 = "fitting-room-2"
# Two antennas per room; 2 and 3 sit on the wall the rooms share.
ANTENNAS: dict[int, str] = {1: ROOM_1, 2: ROOM_1, 3: ROOM_2, 4: ROOM_2}
ROOM_ANTENNAS = {ROOM_1: (1, 2), ROOM_2: (3, 4)}
WALL_ANTENNA = {ROOM_1: 3, ROOM_2: 2}  # the next room's antenna that cross-reads this room
START_MS = 1_764_151_200_000  # 2025-11-26T10:00:00Z
DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Noise:
    cycle_ms: int = 400  # each antenna inventories every cycle
    drop: float = 0.3  # chance an antenna misses the tag in a cycle
    cross: float = 0.3  # chance the next room's wall antenna reads it in a cycle
    rssi: tuple[float, float] = (-56.0, 4.0)  # in the room: mean, +/- spread (dBm)
    cross_rssi: tuple[float, float] = (-74.0, 3.0)  # through the wall
    wall_rssi: tuple[float, float] = (-61.0, 4.0)  # hung on the shared wall: in the room
    wall_cross_rssi: tuple[float, float] = (-64.0, 4.0)  # and through the wall
    burst: float = 0.5  # chance per stay of an in-room burst, and (separately) a cross burst
    occlusion: float = 0.5  # chance per stay of a 1-4 s blackout of the room's antennas
    late: float = 0.02  # chance a read is delivered up to 300 ms after later ones


@dataclass(frozen=True)
class Stay:
    """A garment physically in a room from `start_ms` to `end_ms`."""

    epc: str
    zone: str
    start_ms: int
    end_ms: int
    by_wall: bool = False


@dataclass(frozen=True)
class TruthEvent:
    epc: str
    zone: str
    action: str
    ts_ms: int  # when it physically happened


@dataclass(frozen=True)
class NoisyLog:
    reads: list[RawRead]  # in delivery order
    truth: list[TruthEvent]  # in time order
    stays: list[Stay]


def garment_epc(n: int) -> str:
    gtin = make_gtin14(0, "0614141", f"{10_000 + n * 7:05d}")
    return encode_sgtin96(gtin, 1000 + n, company_prefix_length=7)


def plan_stays(rng: random.Random, garments: int) -> list[Stay]:
    """Garments tried on in either room at overlapping times; garment 0 is carried from
    room 1 to room 2, garment 1 is tried on twice in room 1, garment 2 hangs on the wall."""
    stays: list[Stay] = []
    start = START_MS + 2_000
    for n in range(garments):
        epc = garment_epc(n)
        begin = start + rng.randrange(0, 20_000)
        length = rng.randrange(20_000, 45_000)
        if n == 0:
            moved = begin + length
            stays.append(Stay(epc, ROOM_1, begin, moved))
            arrive = moved + rng.randrange(500, 3_000)  # carried across, read nowhere
            stays.append(Stay(epc, ROOM_2, arrive, arrive + rng.randrange(20_000, 40_000)))
        elif n == 1:
            stays.append(Stay(epc, ROOM_1, begin, begin + length))
            again = begin + length + rng.randrange(25_000, 40_000)  # well past the timeout
            stays.append(Stay(epc, ROOM_1, again, again + rng.randrange(20_000, 30_000)))
        else:
            zone = ROOM_1 if n % 2 == 0 else ROOM_2
            stays.append(Stay(epc, zone, begin, begin + length, by_wall=n == 2))
    return stays


def generate(seed: int, *, garments: int = 6, noise: Noise | None = None) -> NoisyLog:
    """A noisy log and its truth; the same seed gives the same log."""
    noise = noise or Noise()
    rng = random.Random(f"noisy-fitting-rooms:{seed}")
    stays = plan_stays(rng, garments)
    timed: list[tuple[int, RawRead]] = []  # (delivery time, read)
    for stay in stays:
        for read in _stay_reads(rng, stay, noise):
            delay = rng.randrange(50, 300) if rng.random() < noise.late else 0
            timed.append((read.ts_ms + delay, read))
    timed.sort(key=lambda item: item[0])
    truth = [TruthEvent(s.epc, s.zone, "enter", s.start_ms) for s in stays]
    truth += [TruthEvent(s.epc, s.zone, "leave", s.end_ms) for s in stays]
    truth.sort(key=lambda event: (event.ts_ms, event.action == "enter"))
    return NoisyLog([read for _, read in timed], truth, stays)


def _stay_reads(rng: random.Random, stay: Stay, noise: Noise) -> list[RawRead]:
    own = ROOM_ANTENNAS[stay.zone]
    wall = WALL_ANTENNA[stay.zone]
    rssi = noise.wall_rssi if stay.by_wall else noise.rssi
    cross_rssi = noise.wall_cross_rssi if stay.by_wall else noise.cross_rssi
    blackout = (0, 0)
    if rng.random() < noise.occlusion:
        at = rng.randrange(stay.start_ms + 4_000, stay.end_ms - 6_000)
        blackout = (at, at + rng.randrange(1_000, 4_000))

    def level(mean_spread: tuple[float, float]) -> float:
        mean, spread = mean_spread
        return round(rng.uniform(mean - spread, mean + spread), 1)

    reads: list[RawRead] = []
    # First cycle at the stay's start: the garment is visible from then until it leaves.
    for cycle in range(stay.start_ms, stay.end_ms, noise.cycle_ms):
        for slot, antenna in enumerate(own):
            ts = cycle + slot * 40 + rng.randrange(0, 30)
            seen = ts < stay.end_ms and not blackout[0] <= ts < blackout[1]
            if seen and rng.random() >= noise.drop:
                reads.append(RawRead(ts, stay.epc, antenna, level(rssi)))
        ts = cycle + 120 + rng.randrange(0, 30)
        if ts < stay.end_ms and rng.random() < noise.cross:
            reads.append(RawRead(ts, stay.epc, wall, level(cross_rssi)))
    for antenna, strength in ((own[0], rssi), (wall, cross_rssi)):
        if rng.random() < noise.burst:
            at = rng.randrange(stay.start_ms + 3_000, stay.end_ms - 3_000)
            for k in range(rng.randrange(6, 13)):
                reads.append(RawRead(at + k * 30, stay.epc, antenna, level(strength)))
    return reads


def write_jsonl(reads: list[RawRead], path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for read in reads:
            row = {"ts": read.ts_ms, "epc": read.epc, "antenna": read.antenna, "rssi": read.rssi}
            handle.write(json.dumps(row, separators=(",", ":")) + "\n")


def write_csv(reads: list[RawRead], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("ts", "epc", "antenna", "rssi"))
        for read in reads:
            writer.writerow((read.ts_ms, read.epc, read.antenna, read.rssi))


def write_truth(truth: list[TruthEvent], path: Path) -> None:
    rows = [{"epc": e.epc, "zone": e.zone, "action": e.action, "ts": e.ts_ms} for e in truth]
    path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


def read_truth(path: Path) -> list[TruthEvent]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [TruthEvent(r["epc"], r["zone"], r["action"], r["ts"]) for r in rows]


COMMITTED_SEED = 7


def main() -> None:
    log = generate(COMMITTED_SEED, garments=5)
    DATA.mkdir(exist_ok=True)
    write_jsonl(log.reads, DATA / "noisy_fitting_rooms.jsonl")
    write_truth(log.truth, DATA / "noisy_fitting_rooms.truth.json")


if __name__ == "__main__":
    main()
