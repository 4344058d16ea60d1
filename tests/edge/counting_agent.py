"""A synthetic agent for runtime tests: emits `door.crossing` events with sequential ids
(`c000000001`, …) at a steady rate, so tests can say exactly which events were produced.

With a progress file it appends each sequence number after `emit` returns (the event is
then durable in the outbox) and resumes after the last one on restart. An event emitted
just before a SIGKILL but not yet recorded is emitted again, the same event (same id and
time: each emit is announced in the file first), which the service counts once: the
produced set is always `1..last recorded`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from edge.runtime.base import EventSink
from storesense.protocol.events import DoorCrossing


def event_id(seq: int) -> str:
    return f"c{seq:09d}"


def seq_of(event_id: str) -> int:
    return int(event_id[1:])


def door_event(seq: int, ts_ms: int | None = None) -> DoorCrossing:
    ts = int(time.time() * 1000) if ts_ms is None else ts_ms
    return DoorCrossing(id=event_id(seq), ts=ts, direction="in" if seq % 2 else "out")


def _progress_lines(progress: Path) -> list[str]:
    return progress.read_text().splitlines() if progress.exists() else []


def last_recorded(progress: Path) -> int:
    """The last sequence number a run recorded (a torn last line is ignored)."""
    last = 0
    for line in _progress_lines(progress):
        if line.strip().isdigit():
            last = max(last, int(line))
    return last


def announced_time(progress: Path, seq: int) -> int | None:
    """The time of event `seq` if a run announced it (it may be in the outbox already,
    unrecorded: emitted again, it must be the same event, or the service would store the
    same id twice, at two times)."""
    found = None
    for line in _progress_lines(progress):
        parts = line.split()
        if len(parts) == 4 and parts[0] == "emit" and parts[3] == "." and parts[1] == str(seq):
            found = int(parts[2])
    return found


class CountingAgent:
    kind = "door"

    def __init__(
        self, rate_hz: float = 50.0, progress: Path | None = None, limit: int | None = None
    ) -> None:
        self.rate_hz = rate_hz
        self.progress = progress
        self.limit = limit  # stop after this many events (None: until stopped)
        self.applied: list[dict[str, Any]] = []
        self.emitted = 0
        self.next_seq = last_recorded(progress) + 1 if progress else 1

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Self:
        agent = cls()
        agent._configure(section)
        return agent

    def apply_config(self, config: Mapping[str, Any]) -> None:
        self._configure(config)
        self.applied.append(dict(config))

    def _configure(self, config: Mapping[str, Any]) -> None:
        unknown = set(config) - {"rate_hz", "progress", "limit"}
        if unknown:
            raise ValueError(f"unknown key `{sorted(unknown)[0]}`")
        rate = config.get("rate_hz", self.rate_hz)
        if not isinstance(rate, int | float) or not 0 < rate <= 10_000:
            raise ValueError(f"key `rate_hz` must be a number in (0, 10000], got {rate!r}")
        self.rate_hz = float(rate)
        if "progress" in config:
            self.progress = Path(config["progress"])
            self.next_seq = last_recorded(self.progress) + 1
        if "limit" in config:
            self.limit = int(config["limit"])

    def run(self, sink: EventSink, stop: threading.Event) -> None:
        # Only the first event of a run can have been announced (and emitted) before a kill.
        resumed = announced_time(self.progress, self.next_seq) if self.progress else None
        handle = self.progress.open("a", buffering=1) if self.progress else None
        try:
            next_at = time.monotonic()
            while not stop.is_set() and (self.limit is None or self.emitted < self.limit):
                seq = self.next_seq
                ts_ms = resumed if resumed is not None else int(time.time() * 1000)
                resumed = None
                if handle is not None:
                    handle.write(f"emit {seq} {ts_ms} .\n")  # the terminator: not torn
                sink.emit([door_event(seq, ts_ms)])
                # Durable now: record it (one short write, so a kill cannot tear a number
                # into another valid number).
                if handle is not None:
                    handle.write(f"{seq}\n")
                self.next_seq = seq + 1
                self.emitted += 1
                next_at += 1.0 / self.rate_hz
                stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            if handle is not None:
                handle.close()
