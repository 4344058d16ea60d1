"""AgentRunner against a real Mosquitto: batching, order, outages, status and heartbeat."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from edge.runtime.runner import AgentRunner
from storesense.protocol.decode import MAX_BATCH_EVENTS, MAX_MESSAGE_BYTES
from storesense.protocol.events import PosSale, SaleItem
from tests.edge.counting_agent import CountingAgent, door_event
from tests.edge.helpers import (
    EVENTS,
    STATUS,
    Recorder,
    config_data,
    edge_config,
    retained,
    wait_for,
    write_toml,
)
from tests.edge.proxy import LossyProxy
from tests.servers import Mosquitto

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def recorder(broker: Mosquitto) -> Iterator[Recorder]:
    recorder = Recorder(broker.port, [EVENTS, STATUS])
    yield recorder
    recorder.close()


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_events_arrive_in_order_in_protocol_sized_batches(
    tmp_path: Path, broker: Mosquitto, recorder: Recorder, protocol: str
) -> None:
    agent = CountingAgent(rate_hz=10_000, limit=1500)
    runner = AgentRunner(edge_config(tmp_path, broker.port, broker={"protocol": protocol}), agent)
    runner.start()
    try:
        wait_for(lambda: len(recorder.event_ids) >= 1500, 20, "1500 events at the subscriber")
        wait_for(lambda: runner.outbox is not None and runner.outbox.depth == 0, 5, "acks")
    finally:
        runner.stop()
    assert recorder.seqs() == list(range(1, 1501))
    assert max(recorder.batch_sizes) <= MAX_BATCH_EVENTS
    assert recorder.max_payload < MAX_MESSAGE_BYTES


def test_backlog_goes_out_in_full_batches_under_the_size_limit(
    tmp_path: Path, broker: Mosquitto, recorder: Recorder
) -> None:
    broker.stop()  # the recorder's session persists: it gets everything once back
    runner = AgentRunner(edge_config(tmp_path, broker.port), CountingAgent(limit=0))
    runner.start()
    try:
        assert runner.sink is not None
        runner.sink.emit([door_event(seq) for seq in range(1, 1201)])
        items = [SaleItem(qty=1, price=9.5, gtin=f"{n:014d}") for n in range(40)]
        sales = [PosSale(id=f"s{n}", ts=1_800_000_000_000, sale_id=f"{n}", items=items)
                 for n in range(300)]  # fmt: skip
        runner.sink.emit(sales)
        broker.start()
        wait_for(lambda: len(recorder.event_ids) >= 1500, 15, "backlog at the subscriber")
    finally:
        runner.stop()
    # Oldest first: door events fill batches to the count limit; the ~2 KB sales then fill
    # them to the byte limit.
    assert recorder.batch_sizes[:2] == [500, 500]
    assert sum(recorder.batch_sizes) == 1500 and len(recorder.batch_sizes) >= 5
    assert MAX_MESSAGE_BYTES - 4096 < recorder.max_payload < MAX_MESSAGE_BYTES


def _at_least(recorder: Recorder, messages: int) -> bool:
    return len(recorder.batch_sizes) >= messages


def test_events_leave_the_outbox_only_on_puback_and_are_resent_after_reconnect(
    tmp_path: Path, broker: Mosquitto, recorder: Recorder
) -> None:
    proxy = LossyProxy(broker.port)
    config = edge_config(tmp_path, proxy.port, broker={"max_in_flight": 4})
    runner = AgentRunner(config, CountingAgent(limit=0))
    try:
        runner.start()
        assert runner.publisher is not None and runner.publisher.wait_connected(10)
        assert runner.sink is not None and runner.outbox is not None
        proxy.pass_replies.clear()  # the broker gets everything, the agent no PUBACK
        # One message each for the first four (events emitted faster than the publisher
        # wakes would share a batch), then the rest while the window is full.
        for seq in range(1, 5):
            runner.sink.emit([door_event(seq)])
            wait_for(partial(_at_least, recorder, seq), 10, f"message {seq} at the broker")
        for seq in range(5, 41):
            runner.sink.emit([door_event(seq)])
        time.sleep(0.5)
        assert len(recorder.batch_sizes) == 4  # the in-flight window is full
        assert runner.outbox.depth == 40  # nothing deleted without a PUBACK
        sent_once = recorder.seqs()

        proxy.pass_replies.set()
        proxy.cut()  # reconnect: the unacknowledged messages go again, then the rest
        wait_for(lambda: runner.outbox is not None and runner.outbox.depth == 0, 10, "acks")
    finally:
        runner.stop()
        proxy.close()
    received = recorder.seqs()
    assert sorted(set(received)) == list(range(1, 41))
    assert all(received.count(seq) == 2 for seq in sent_once)  # resent after reconnect


def test_events_emitted_during_an_outage_arrive_after_it(
    tmp_path: Path, broker: Mosquitto, recorder: Recorder
) -> None:
    agent = CountingAgent(rate_hz=200)
    runner = AgentRunner(edge_config(tmp_path, broker.port), agent)
    runner.start()
    try:
        wait_for(lambda: len(recorder.seqs()) >= 50, 10, "first events")
        broker.stop()
        emitted = agent.emitted
        wait_for(lambda: agent.emitted >= emitted + 200, 10, "events during the outage")
        assert runner.outbox is not None and runner.outbox.depth >= 150
        broker.start()
        wait_for(lambda: len(set(recorder.seqs())) >= agent.emitted - 5, 20, "catch-up")
    finally:
        runner.stop()
    produced = agent.next_seq - 1
    assert set(recorder.seqs()) == set(range(1, produced + 1))


def test_status_on_connect_and_at_stop_carries_outbox_counters(
    tmp_path: Path, stopped_broker: Mosquitto
) -> None:
    """Events emitted while the broker is unreachable, past a cap of 60: the online status
    sent on connect reports them waiting and the drops; the offline one at stop reports
    them published."""
    config = edge_config(tmp_path, stopped_broker.port, heartbeat_s=3600, outbox={"max_events": 60})
    runner = AgentRunner(config, CountingAgent(rate_hz=10_000, limit=100))
    runner.start()
    try:
        wait_for(lambda: runner.sink is not None and runner.sink.emitted == 100, 10, "emits")
        stopped_broker.start()
        assert runner.publisher is not None and runner.publisher.wait_connected(10)
        wait_for(lambda: runner.outbox is not None and runner.outbox.depth == 0, 10, "drain")
        online = retained(stopped_broker.port, STATUS)
    finally:
        runner.stop()
    offline = retained(stopped_broker.port, STATUS)
    assert online["state"] == "online" and online["kind"] == "door" and online["version"]
    assert (online["outbox_depth"], online["dropped"], online["published"]) == (60, 40, 0)
    assert offline["state"] == "offline"
    assert (offline["outbox_depth"], offline["dropped"], offline["published"]) == (0, 40, 60)


def test_heartbeat_repeats_status_with_fresh_counters(
    tmp_path: Path, broker: Mosquitto, recorder: Recorder
) -> None:
    runner = AgentRunner(
        edge_config(tmp_path, broker.port, heartbeat_s=0.3), CountingAgent(limit=10)
    )
    runner.start()
    try:
        wait_for(
            lambda: sum(s.get("published") == 10 for s in recorder.statuses()) >= 2,
            10,
            "two heartbeats after all events were published",
        )
    finally:
        runner.stop()
    online = [s for s in recorder.statuses() if s["state"] == "online"]
    assert len(online) >= 3
    assert [s["uptime_s"] for s in online] == sorted(s["uptime_s"] for s in online)
    assert online[-1]["outbox_depth"] == 0 and online[-1]["dropped"] == 0


def test_killed_agent_leaves_offline_will(tmp_path: Path, broker: Mosquitto) -> None:
    data = config_data(tmp_path, broker.port, door={"rate_hz": 20})
    config_file = write_toml(tmp_path / "agent.toml", data)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.edge.counting_main", str(config_file)],
        cwd=REPO,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _status_state(broker) == "online", 15, "online status")
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        wait_for(lambda: _status_state(broker) == "offline", 10, "offline will")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    will = retained(broker.port, STATUS)
    assert will["kind"] == "door" and "outbox_depth" not in will


def _status_state(broker: Mosquitto) -> str | None:
    try:
        return str(retained(broker.port, STATUS, timeout=0.5)["state"])
    except AssertionError:
        return None


def test_sigterm_flushes_and_goes_offline(tmp_path: Path, broker: Mosquitto) -> None:
    data = config_data(tmp_path, broker.port, door={"rate_hz": 200})
    config_file = write_toml(tmp_path / "agent.toml", data)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.edge.counting_main", str(config_file)],
        cwd=REPO,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _status_state(broker) == "online", 15, "online status")
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=15) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    status = retained(broker.port, STATUS)
    assert status["state"] == "offline" and status["outbox_depth"] == 0
    assert status["published"] > 0
