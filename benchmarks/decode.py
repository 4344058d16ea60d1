"""Decode cost of one 100-event batch: msgspec (what ingest uses) versus pydantic v2.

A bad event must reject only itself, so ingest decodes each event of a batch on its own;
the "per event" rows are the comparison that matters, "whole batch" rows are for scale.

    .venv/bin/python benchmarks/decode.py [--rounds 2000]

Both decode the same payload into typed models of the four event types (a tagged/
discriminated union); pydantic's models mirror storesense.protocol.events for the
comparison only.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Annotated, Literal

import msgspec
from pydantic import BaseModel, Field, TypeAdapter

from storesense.protocol.decode import decode_events
from storesense.protocol.events import AnyEvent


class _Door(BaseModel):
    type: Literal["door.crossing"]
    id: str
    ts: int
    direction: Literal["in", "out"]
    count: int = Field(default=1, ge=1, le=1000)


class _Rfid(BaseModel):
    type: Literal["rfid.tag"]
    id: str
    ts: int
    epc: str = Field(pattern=r"^[0-9A-Fa-f]{24,64}$")
    action: Literal["enter", "leave"]
    zone: str


class _Beacon(BaseModel):
    type: Literal["beacon.sighting"]
    id: str
    ts: int
    beacon: str
    rssi: int = Field(ge=-127, le=20)
    zone: str | None = None


_Event = Annotated[_Door | _Rfid | _Beacon, Field(discriminator="type")]
_pydantic_batch = TypeAdapter(list[_Event])
_pydantic_event = TypeAdapter(_Event)
_msgspec_batch = msgspec.json.Decoder(list[AnyEvent])
_msgspec_event = msgspec.json.Decoder(AnyEvent)
_split = msgspec.json.Decoder(list[msgspec.Raw])


def payload(rng: random.Random, n: int = 100) -> bytes:
    ts = 1_795_658_400_000
    events = []
    for i in range(n):
        kind = rng.choice(["door", "rfid", "beacon"])
        if kind == "door":
            events.append({"type": "door.crossing", "id": f"d{i}", "ts": ts, "direction": "in"})
        elif kind == "rfid":
            epc = f"{rng.getrandbits(96):024x}"
            events.append(
                {"type": "rfid.tag", "id": f"r{i}", "ts": ts, "action": "enter", "epc": epc,
                 "zone": "fitting-room-1"}
            )  # fmt: skip
        else:
            events.append({"type": "beacon.sighting", "id": f"b{i}", "ts": ts, "zone": "floor",
                           "beacon": f"{rng.getrandbits(64):016x}", "rssi": -60})  # fmt: skip
    return json.dumps(events).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    data = payload(random.Random(1))
    assert len(decode_events(data, "s", "d").accepted) == 100
    assert len(_pydantic_batch.validate_json(data)) == 100
    slices = [bytes(raw) for raw in _split.decode(data)]
    candidates = (
        ("whole batch, msgspec Decoder(list[union])", lambda: _msgspec_batch.decode(data)),
        ("whole batch, pydantic TypeAdapter(list[union])",
         lambda: _pydantic_batch.validate_json(data)),
        ("per event, msgspec", lambda: [_msgspec_event.decode(raw) for raw in slices]),
        ("per event, pydantic", lambda: [_pydantic_event.validate_json(raw) for raw in slices]),
        ("storesense decode_events (split + per event + origin checks)",
         lambda: decode_events(data, "s", "d")),
    )  # fmt: skip
    for name, run in candidates:
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(args.rounds):
                run()
            best = min(best, (time.perf_counter() - started) / args.rounds)
        print(f"{name}: {best * 1e6:.0f} µs per 100-event batch ({100 / best:,.0f} events/s)")


if __name__ == "__main__":
    main()
