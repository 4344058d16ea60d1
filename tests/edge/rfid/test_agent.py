from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from edge.rfid.agent import RfidAgent, describe_epc
from edge.rfid.config import RfidConfigError
from edge.rfid.reads import RawRead, ReadBatch
from edge.runtime.base import Agent
from storesense.protocol.decode import decode_events
from storesense.protocol.events import AnyEvent, RfidTag, encode_events
from tests.edge.rfid.fake_reader import FakeLlrpReader, Tag, ro_access_report
from tests.edge.rfid.noisy_log import (
    ANTENNAS,
    DATA,
    ROOM_1,
    ROOM_2,
    read_truth,
    write_csv,
)

LOG = DATA / "noisy_fitting_rooms.jsonl"
TRUTH = read_truth(DATA / "noisy_fitting_rooms.truth.json")
EPC = "3074257bf7194e4000001a85"
T0 = 1_764_151_200_000
WINDOW_MS, LEAVE_AFTER_MS = 2_000, 10_000  # the defaults


class ListSink:
    """An EventSink that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[AnyEvent] = []
        self._lock = threading.Lock()

    def emit(self, events: Sequence[AnyEvent]) -> None:
        with self._lock:
            self.events.extend(events)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[AnyEvent]:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self.events) >= count:
                    return list(self.events)
            assert time.monotonic() < deadline, f"only {len(self.events)} events: {self.events}"
            time.sleep(0.01)


class ScriptedSource:
    """A source the test feeds batch by batch (None ends it)."""

    def __init__(self) -> None:
        self.queue: queue.Queue[ReadBatch | None] = queue.Queue()
        self.closed = threading.Event()

    def batches(self, stop: threading.Event) -> Iterator[ReadBatch]:
        try:
            while not stop.is_set():
                try:
                    item = self.queue.get(timeout=0.02)
                except queue.Empty:
                    continue
                if item is None:
                    return
                yield item
        finally:
            self.closed.set()

    def send(self, reads: list[RawRead]) -> None:
        self.queue.put(ReadBatch(reads, max(r.ts_ms for r in reads)))


def section(**overrides: Any) -> dict[str, Any]:
    """The agent's config as JSON would carry it (string antenna keys)."""
    data: dict[str, Any] = {
        "antennas": {str(antenna): zone for antenna, zone in ANTENNAS.items()},
        "source": {"type": "replay", "path": str(LOG)},
    }
    data.update(overrides)
    return data


def wire_round_trip(events: list[AnyEvent]) -> list[RfidTag]:
    """Encode each event as the outbox does and decode it as ingest does."""
    decoded: list[RfidTag] = []
    for event in events:
        message = decode_events(encode_events(event), "store-1", "rfid-fr")
        assert message.rejected == [], message.rejected
        (accepted,) = message.accepted
        assert isinstance(accepted.event, RfidTag)
        decoded.append(accepted.event)
    return decoded


@contextmanager
def running(agent: RfidAgent) -> Iterator[tuple[ListSink, threading.Thread]]:
    """Run the agent in a thread; stop it on the way out, whatever happened."""
    sink, stop = ListSink(), threading.Event()
    runner = threading.Thread(target=agent.run, args=(sink, stop), daemon=True)
    runner.start()
    try:
        yield sink, runner
    finally:
        stop.set()
        runner.join(10)


def run_to_end(agent: RfidAgent) -> list[RfidTag]:
    sink = ListSink()
    agent.run(sink, threading.Event())
    return wire_round_trip(sink.events)


def test_the_recorded_noisy_log_becomes_the_true_enter_leave_sequence() -> None:
    events = run_to_end(RfidAgent.from_config(section()))
    got: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for event in events:
        got[event.epc].append((event.zone, event.action))
    want: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for truth in TRUTH:
        want[truth.epc].append((truth.zone, truth.action))
    assert got == want
    # …each event soon after it happened: an enter within the window, a leave within the
    # timeout; a garment carried to the other room may wait for the old room's timeout.
    truths = {epc: [t for t in TRUTH if t.epc == epc] for epc in want}
    for event in events:
        truth = truths[event.epc].pop(0)
        if event.action == "leave":
            latest = truth.ts_ms + LEAVE_AFTER_MS + 1_000
        else:
            carried = any(
                t.epc == truth.epc and t.action == "leave" and 0 <= truth.ts_ms - t.ts_ms < 5_000
                for t in TRUTH
            )
            latest = truth.ts_ms + WINDOW_MS + 1_000 + (LEAVE_AFTER_MS if carried else 0)
        assert truth.ts_ms <= event.ts_ms <= latest, (event, truth)
    assert [e.ts_ms for e in events] == sorted(e.ts_ms for e in events)
    assert len({e.id for e in events}) == len(events)
    assert all(e.antenna in ANTENNAS and ANTENNAS[e.antenna] == e.zone for e in events)
    assert all(isinstance(e.rssi, float) for e in events)


def test_the_same_log_as_csv_gives_the_same_events(tmp_path: Path) -> None:
    from edge.rfid.sources import ReplaySource

    reads = [r for b in ReplaySource(LOG).batches(threading.Event()) for r in b.reads]
    write_csv(reads, tmp_path / "reads.csv")
    csv_section = section(source={"type": "replay", "path": str(tmp_path / "reads.csv")})
    from_csv = run_to_end(RfidAgent.from_config(csv_section))
    from_jsonl = run_to_end(RfidAgent.from_config(section()))
    key = [(e.epc, e.zone, e.action, e.ts_ms, e.antenna, e.rssi) for e in from_jsonl]
    assert [(e.epc, e.zone, e.action, e.ts_ms, e.antenna, e.rssi) for e in from_csv] == key


def test_stats_count_what_happened() -> None:
    agent = RfidAgent.from_config(section())
    events = run_to_end(agent)
    stats = agent.stats
    assert stats["reads"] == sum(1 for line in LOG.open() if line.strip())
    assert stats["enters"] == stats["leaves"] == len(events) // 2
    assert stats["log_rows_skipped"] == 0 and stats["tracked"] == 0


def test_events_are_emitted_as_reads_arrive_and_stop_ends_the_run() -> None:
    source = ScriptedSource()
    agent = RfidAgent.from_config(section(), source=source)
    with running(agent) as (sink, runner):
        source.send([RawRead(T0 + i * 250, EPC, 3, -50.0) for i in range(3)])
        (event,) = sink.wait_for(1)
        assert isinstance(event, RfidTag)
        assert (event.epc, event.zone, event.action, event.ts_ms, event.antenna) == (
            EPC, ROOM_2, "enter", T0 + 500, 3,
        )  # fmt: skip
        assert agent.present == {EPC: ROOM_2}
    assert not runner.is_alive()
    assert source.closed.is_set()
    assert len(sink.events) == 1  # stopping is not the end of the input: no leaves


def test_silence_from_the_source_times_tags_out() -> None:
    source = ScriptedSource()
    agent = RfidAgent.from_config(section(), source=source)
    with running(agent) as (sink, _):
        source.send([RawRead(T0 + i * 250, EPC, 1, -50.0) for i in range(3)])
        sink.wait_for(1)
        source.queue.put(ReadBatch((), T0 + 30_000))  # no reads, but time has passed
        events = wire_round_trip(sink.wait_for(2))
    assert [(e.action, e.ts_ms) for e in events] == [
        ("enter", T0 + 500),
        ("leave", T0 + 500 + LEAVE_AFTER_MS),
    ]


class EndlessSource:
    """A source that never ends and ignores `stop`."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def batches(self, stop: threading.Event) -> Iterator[ReadBatch]:
        now = T0
        try:
            while True:
                now += 100
                time.sleep(0.005)
                yield ReadBatch([RawRead(now, EPC, 1, -50.0)], now)
        finally:
            self.closed.set()


def test_the_agent_stops_even_when_its_source_would_not() -> None:
    source = EndlessSource()
    agent = RfidAgent.from_config(section(), source=source)
    with running(agent) as (sink, runner):
        sink.wait_for(1)
    assert not runner.is_alive()
    assert source.closed.is_set()


def test_the_source_is_closed_when_emitting_fails() -> None:
    class BrokenSink:
        def emit(self, events: Sequence[AnyEvent]) -> None:
            raise OSError("disk full")

    source = EndlessSource()
    agent = RfidAgent.from_config(section(), source=source)
    with pytest.raises(OSError, match="disk full") as caught:
        agent.run(BrokenSink(), threading.Event())
    # Closed by run() itself: the traceback (kept by `caught`) still holds the generator.
    assert caught.value.__traceback__ is not None
    assert source.closed.is_set()  # the reader is disconnected, not left to the GC


def test_a_source_that_ends_lets_every_tag_time_out() -> None:
    source = ScriptedSource()
    agent = RfidAgent.from_config(section(), source=source)
    source.send([RawRead(T0 + i * 250, EPC, 1, -50.0) for i in range(3)])
    source.queue.put(None)
    sink = ListSink()
    agent.run(sink, threading.Event())
    assert [(e.action, e.ts_ms) for e in wire_round_trip(sink.events)] == [
        ("enter", T0 + 500),
        ("leave", T0 + 500 + LEAVE_AFTER_MS),
    ]


def test_paced_replay_stops_promptly() -> None:
    agent = RfidAgent.from_config(section(source={"type": "replay", "path": str(LOG), "speed": 1}))
    with running(agent) as (_, runner):
        time.sleep(0.2)
        started = time.monotonic()
    assert not runner.is_alive()
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"bogus": 1}, "unknown key `bogus`"),
        ({"defaults": {"min_reads": "3"}}, "key `defaults.min_reads`"),
        ({"zones": {"backroom": {}}}, "key `zones.backroom`"),
        (
            {"zones": {ROOM_1: {"leave_after_seconds": -1}}},
            f"key `zones.{ROOM_1}.leave_after_seconds`",
        ),
        ({"antennas": {"x": ROOM_1}}, "key `antennas.x`"),
        ({"source": {"type": "llrp"}}, "key `source.host` is required"),
        ({"switch_margin_db": -3}, "key `switch_margin_db`"),
    ],
)
def test_bad_live_config_is_refused_naming_the_key(change: dict[str, Any], key: str) -> None:
    agent = RfidAgent.from_config(section())
    before = agent.config
    with pytest.raises(ValueError, match=key.replace("`", ".")):
        agent.apply_config(section(**change))
    assert agent.config is before


def test_live_config_may_omit_the_source_but_not_change_it_while_running(
    tmp_path: Path,
) -> None:
    source = ScriptedSource()
    agent = RfidAgent.from_config(section(), source=source)
    with running(agent) as (sink, _):
        source.send([RawRead(T0 + i * 250, EPC, 3, -50.0) for i in range(3)])
        sink.wait_for(1)  # running
        other = {"type": "replay", "path": str(tmp_path / "other.jsonl")}
        with pytest.raises(RfidConfigError, match="key `source` cannot change"):
            agent.apply_config(section(source=other))
        no_source = section()
        del no_source["source"]
        agent.apply_config(no_source | {"switch_margin_db": 3})
        assert agent.config.switch_margin_db == 3
        assert agent.config.source == RfidAgent.from_config(section()).config.source


def test_before_running_a_live_config_can_switch_the_source(tmp_path: Path) -> None:
    agent = RfidAgent.from_config(section(source={"type": "replay", "path": "missing.jsonl"}))
    path = tmp_path / "reads.jsonl"
    path.write_text("".join(
        f'{{"ts": {T0 + i * 250}, "epc": "{EPC}", "antenna": 4, "rssi": -50}}\n' for i in range(3)
    ))  # fmt: skip
    agent.apply_config(section(source={"type": "replay", "path": str(path)}))
    assert [(e.zone, e.action) for e in run_to_end(agent)] == [(ROOM_2, "enter"), (ROOM_2, "leave")]


def test_live_config_dropping_a_zone_makes_its_tags_leave() -> None:
    source = ScriptedSource()
    agent = RfidAgent.from_config(section(), source=source)
    with running(agent) as (sink, _):
        source.send([RawRead(T0 + i * 250, EPC, 3, -50.0) for i in range(3)])
        sink.wait_for(1)
        agent.apply_config(section(antennas={"1": ROOM_1, "2": ROOM_1}))
        source.send([RawRead(T0 + 1_000, EPC, 3, -50.0)])  # antenna 3 is in no zone now
        events = wire_round_trip(sink.wait_for(2))
    assert [(e.zone, e.action, e.ts_ms) for e in events] == [
        (ROOM_2, "enter", T0 + 500),
        (ROOM_2, "leave", T0 + 500),  # at the time the config arrived
    ]


def test_a_source_that_cannot_be_built_is_a_config_error() -> None:
    with pytest.raises(RfidConfigError, match="key `source`: cannot tell the format"):
        RfidAgent.from_config(section(source={"type": "replay", "path": "reads.txt"}))
    agent = RfidAgent.from_config(section())
    with pytest.raises(ValueError, match="key `source`: cannot tell the format"):
        agent.apply_config(section(source={"type": "replay", "path": "reads.txt"}))


def test_a_source_is_required() -> None:
    with pytest.raises(RfidConfigError, match="key `source` is required"):
        RfidAgent.from_config(section(source=None))


def test_the_agent_satisfies_the_runtime_contract() -> None:
    agent: Agent = RfidAgent.from_config(section())
    assert agent.kind == "rfid"


def test_debug_logs_describe_garment_tags() -> None:
    assert describe_epc("3074257bf7194e4000001a85") == "gtin=80614141123458 serial=6789"
    assert describe_epc("e2801160600002054e2b1c3f00112233") == "sgtin=no bits=128"


def test_an_llrp_reader_through_the_agent(tmp_path: Path) -> None:
    pytest.importorskip("sllurp")
    with FakeLlrpReader() as reader:
        llrp = {
            "type": "llrp",
            "host": "127.0.0.1",
            "port": reader.port,
            "reconnect_seconds": 0.1,
            "connect_timeout_seconds": 1,
        }
        agent = RfidAgent.from_config(section(source=llrp))
        with running(agent) as (sink, runner):
            connection = reader.wait_inventorying()
            for rssi in (-50, -49, -51):
                connection.send(ro_access_report([Tag(EPC, antenna=2, peak_rssi=rssi)]))
            (event,) = wire_round_trip(sink.wait_for(1))
        assert not runner.is_alive()
    assert (event.epc, event.zone, event.action, event.antenna, event.rssi) == (
        EPC, ROOM_1, "enter", 2, -51.0,
    )  # fmt: skip
    assert abs(event.ts_ms - time.time() * 1000) < 60_000  # stamped with the host clock
    assert agent.stats["reader_reports"] == 3
