"""The durable outbox: order, acks, the cap, reopening, SIGKILL, threads."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from edge.runtime.outbox import Outbox, OutboxError


def payloads(*numbers: int) -> list[bytes]:
    return [f'{{"n":{n}}}'.encode() for n in numbers]


def test_events_come_back_oldest_first(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite") as outbox:
        outbox.append(payloads(1, 2))
        outbox.append(payloads(3))
        batch = outbox.peek_batch(10, 10_000)
    assert [entry.payload for entry in batch] == payloads(1, 2, 3)
    assert [entry.seq for entry in batch] == sorted(entry.seq for entry in batch)


def test_peek_does_not_remove_and_ack_removes_exactly_those(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite") as outbox:
        outbox.append(payloads(1, 2, 3, 4))
        first = outbox.peek_batch(10, 10_000)
        assert outbox.peek_batch(10, 10_000) == first
        assert outbox.ack([first[1].seq, first[3].seq]) == 2
        assert [e.payload for e in outbox.peek_batch(10, 10_000)] == payloads(1, 3)
        assert outbox.ack([first[1].seq]) == 0  # already gone: no error, nothing else hit
        assert outbox.stats().depth == 2


def test_peek_after_skips_what_is_in_flight(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite") as outbox:
        outbox.append(payloads(1, 2, 3))
        first = outbox.peek_batch(2, 10_000)
        rest = outbox.peek_batch(10, 10_000, after=first[-1].seq)
    assert [e.payload for e in rest] == payloads(3)


def test_batch_respects_byte_limit_with_array_framing(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite") as outbox:
        outbox.append([b"x" * 10] * 5)
        # 2 events framed: "[" + 10 + "," + 10 + "]" = 23 bytes
        assert len(outbox.peek_batch(10, 23)) == 2
        assert len(outbox.peek_batch(10, 22)) == 1
        assert len(outbox.peek_batch(10, 5)) == 1  # one event always goes, even if large


def test_reopen_keeps_events_and_sequence(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    with Outbox(path) as outbox:
        outbox.append(payloads(1, 2, 3))
        last = outbox.peek_batch(10, 10_000)[-1].seq
        outbox.ack([last])  # the newest row is deleted: its seq must still not come back
    with Outbox(path) as outbox:
        assert [e.payload for e in outbox.peek_batch(10, 10_000)] == payloads(1, 2)
        outbox.append(payloads(4))
        assert outbox.peek_batch(10, 10_000)[-1].seq > last
        assert outbox.stats().depth == 3


def test_cap_on_events_drops_oldest_and_counts_persistently(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "o.sqlite"
    with caplog.at_level(logging.WARNING), Outbox(path, max_events=5) as outbox:
        assert outbox.append(payloads(1, 2, 3)) == 0
        assert outbox.append(payloads(4, 5, 6, 7, 8)) == 3
        assert [e.payload for e in outbox.peek_batch(10, 10_000)] == payloads(4, 5, 6, 7, 8)
        assert outbox.stats().dropped == 3
    assert "dropped oldest events" in caplog.text
    with Outbox(path, max_events=5) as outbox:
        assert outbox.stats().dropped == 3


def test_cap_on_bytes_drops_oldest(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite", max_bytes=25) as outbox:
        outbox.append([b"a" * 10, b"b" * 10])
        outbox.append([b"c" * 10])
        assert [e.payload for e in outbox.peek_batch(10, 10_000)] == [b"b" * 10, b"c" * 10]
        assert outbox.stats() == type(outbox.stats())(depth=2, bytes=20, dropped=1)


def test_smaller_cap_at_reopen_applies_to_old_events(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    with Outbox(path) as outbox:
        outbox.append(payloads(*range(10)))
    with Outbox(path, max_events=4) as outbox:
        assert [e.payload for e in outbox.peek_batch(10, 10_000)] == payloads(6, 7, 8, 9)
        assert outbox.stats().dropped == 6


def test_closed_outbox_raises(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.close()
    with pytest.raises(OutboxError, match="closed"):
        outbox.append(payloads(1))


def test_appender_and_drainer_threads_deliver_everything_once_in_order(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite")
    total = 600
    delivered: list[bytes] = []

    def append() -> None:
        for n in range(0, total, 3):
            outbox.append(payloads(n, n + 1, n + 2))

    def drain() -> None:
        cursor = 0
        deadline = time.monotonic() + 30
        while len(delivered) < total and time.monotonic() < deadline:
            batch = outbox.peek_batch(50, 100_000, after=cursor)
            if not batch:
                time.sleep(0.001)
                continue
            delivered.extend(e.payload for e in batch)
            cursor = batch[-1].seq
            outbox.ack(e.seq for e in batch)

    threads = [threading.Thread(target=append), threading.Thread(target=drain)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert delivered == payloads(*range(total))
    assert outbox.stats().depth == 0
    outbox.close()


_KILL_CHILD = """
import sys
from edge.runtime.outbox import Outbox
outbox = Outbox(sys.argv[1])
n = 0
while True:
    outbox.append([b'{"n":%d}' % n])
    sys.stdout.write(f"{n}\\n")
    sys.stdout.flush()
    n += 1
"""


def test_appended_events_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", _KILL_CHILD, str(path)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout is not None
    confirmed = -1
    while confirmed < 200:  # each line is printed only after append returned
        confirmed = int(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    rest = child.stdout.read().split()
    child.wait()
    confirmed = int(rest[-1]) if rest else confirmed
    with Outbox(path) as outbox:
        stored = [e.payload for e in outbox.peek_batch(1_000_000, 1 << 40)]
    # Everything confirmed is there, in order; at most the one append in progress is extra.
    assert stored[: confirmed + 1] == payloads(*range(confirmed + 1))
    assert len(stored) - (confirmed + 1) in (0, 1)


class OutboxMachine(RuleBasedStateMachine):
    """The outbox against a list model: any mix of appends, peeks, acks, reopens and a cap
    keeps order, acks delete exactly what they name, the cap drops the oldest and counts."""

    in_box = Bundle("in_box")

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.path = Path(self.dir.name) / "o.sqlite"
        self.model: list[tuple[int, bytes]] = []
        self.dropped = 0
        self.counter = 0

    @initialize(max_events=st.integers(1, 12))
    def open(self, max_events: int) -> None:
        self.max_events = max_events
        self.outbox = Outbox(self.path, max_events=max_events)

    @rule(target=in_box, count=st.integers(1, 6))
    def append(self, count: int) -> object:
        new = payloads(*range(self.counter, self.counter + count))
        self.counter += count
        dropped = self.outbox.append(new)
        combined = [p for _, p in self.model] + new
        excess = max(0, len(combined) - self.max_events)
        stored = self.outbox.peek_batch(10_000, 1 << 30)
        assert dropped == excess
        assert [e.payload for e in stored] == combined[excess:]
        self.model = [(e.seq, e.payload) for e in stored]
        self.dropped += excess
        seqs = [e.seq for e in stored if e.payload in new]
        return multiple(*seqs)

    @rule(seq=consumes(in_box))
    def ack(self, seq: int) -> None:
        expected = 1 if any(s == seq for s, _ in self.model) else 0
        assert self.outbox.ack([seq]) == expected
        self.model = [(s, p) for s, p in self.model if s != seq]

    @rule(max_events=st.integers(1, 5), after_index=st.integers(0, 5))
    def peek(self, max_events: int, after_index: int) -> None:
        after = self.model[after_index - 1][0] if 0 < after_index <= len(self.model) else 0
        expected = [(s, p) for s, p in self.model if s > after][:max_events]
        assert [(e.seq, e.payload) for e in self.outbox.peek_batch(max_events, 1 << 20, after)] == (
            expected
        )

    @precondition(lambda self: hasattr(self, "outbox"))
    @rule()
    def reopen(self) -> None:
        self.outbox.close()
        self.outbox = Outbox(self.path, max_events=self.max_events)

    @invariant()
    def matches_model(self) -> None:
        if not hasattr(self, "outbox"):
            return
        stats = self.outbox.stats()
        assert stats.depth == len(self.model)
        assert stats.dropped == self.dropped
        assert stats.bytes == sum(len(p) for _, p in self.model)

    def teardown(self) -> None:
        if hasattr(self, "outbox"):
            self.outbox.close()
        self.dir.cleanup()


OutboxMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_outbox_matches_model = OutboxMachine.TestCase
