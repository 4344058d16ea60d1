"""The runtime tests' counting agent: what it produced is exactly `1..last recorded`, and
an event it may have emitted before a kill is emitted again unchanged."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from storesense.protocol.events import AnyEvent
from tests.edge.counting_agent import CountingAgent, last_recorded


class _Collect:
    def __init__(self) -> None:
        self.events: list[AnyEvent] = []

    def emit(self, events: Sequence[AnyEvent]) -> None:
        self.events.extend(events)


def _run(progress: Path, limit: int) -> list[AnyEvent]:
    sink = _Collect()
    CountingAgent(rate_hz=1000, progress=progress, limit=limit).run(sink, threading.Event())
    return sink.events


def test_a_restart_resumes_after_the_last_recorded_event(tmp_path: Path) -> None:
    progress = tmp_path / "progress.txt"
    first = _run(progress, 3)
    again = _run(progress, 2)
    assert [e.id for e in first + again] == [f"c{n:09d}" for n in range(1, 6)]
    assert last_recorded(progress) == 5


def test_an_event_announced_but_not_recorded_before_a_kill_is_emitted_again_unchanged(
    tmp_path: Path,
) -> None:
    progress = tmp_path / "progress.txt"
    first = _run(progress, 2)
    # Killed after emitting event 3 (in the outbox), before recording it.
    announced = first[-1].ts_ms - 60_000  # a minute back: no new event can have its time
    with progress.open("a") as handle:
        handle.write(f"emit 3 {announced} .\n")
    resumed = _run(progress, 2)
    assert [e.id for e in resumed] == ["c000000003", "c000000004"]
    assert resumed[0].ts_ms == announced  # the same event, not a new one with the same id
    assert resumed[1].ts_ms >= first[-1].ts_ms


def test_a_torn_announcement_is_ignored(tmp_path: Path) -> None:
    progress = tmp_path / "progress.txt"
    (first,) = _run(progress, 1)
    with progress.open("a") as handle:
        handle.write("emit 2 12")  # cut short by the kill: no terminator
    (resumed,) = _run(progress, 1)
    assert resumed.id == "c000000002" and resumed.ts_ms >= first.ts_ms
