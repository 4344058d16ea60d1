"""The LLRP source through the real sllurp client, against a scripted reader on localhost
(tests/edge/rfid/fake_reader.py). No reader hardware is involved."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from edge.rfid.llrp import MAX_SEEN_COUNT, LlrpSource, LlrpUnavailable, reads_from_tag_report
from edge.rfid.reads import RawRead
from tests.edge.rfid.fake_reader import (
    ADD_ROSPEC,
    DELETE_ACCESSSPEC,
    ENABLE_ROSPEC,
    FakeLlrpReader,
    Tag,
    ro_access_report,
    rospec_summary,
    transmit_power_indexes,
)

EPC96 = "3074257bf7194e4000001a85"
EPC128 = "e2801160600002054e2b1c3f00112233"
NOW = 1_764_151_200_000


@pytest.fixture
def sllurp() -> ModuleType:
    module: ModuleType = pytest.importorskip("sllurp.llrp")
    return module


def decoded_report(sllurp: ModuleType, tags: list[Tag]) -> list[dict[str, Any]]:
    """`TagReportData` exactly as sllurp hands it to a tag-report callback."""
    message = sllurp.LLRPMessage(msgbytes=ro_access_report(tags))
    report: list[dict[str, Any]] = message.msgdict["RO_ACCESS_REPORT"]["TagReportData"]
    return report


def test_sllurp_tag_reports_become_raw_reads(sllurp: ModuleType) -> None:
    report = decoded_report(
        sllurp,
        [
            Tag(EPC96.upper(), antenna=2, peak_rssi=-51, seen_count=2),
            Tag(EPC128, antenna=3, peak_rssi=-52, impinj_rssi=-5123),  # EPCData, 1/100 dBm
            Tag(EPC96, antenna=1, peak_rssi=None, seen_count=None),
            Tag(EPC96, antenna=None),  # no antenna: cannot be placed
            Tag("3074257bf7194e40", antenna=1),  # 64-bit EPC: not an event EPC
        ],
    )
    reads, skipped = reads_from_tag_report(report, now_ms=NOW)
    assert reads == [
        RawRead(NOW, EPC96, 2, -51.0),
        RawRead(NOW, EPC96, 2, -51.0),  # seen twice since the last report
        RawRead(NOW, EPC128, 3, -51.23),
        RawRead(NOW, EPC96, 1, None),
    ]
    assert skipped == 2


def test_reader_time_and_seen_count_cap(sllurp: ModuleType) -> None:
    seen_us = 1_764_151_199_123_456
    report = decoded_report(sllurp, [Tag(EPC96, last_seen_us=seen_us, seen_count=300)])
    reads, _ = reads_from_tag_report(report, now_ms=NOW, reader_time=True)
    assert reads == [RawRead(1_764_151_199_123, EPC96, 1, -55.0)] * MAX_SEEN_COUNT
    host, _ = reads_from_tag_report(report, now_ms=NOW)
    assert {read.ts_ms for read in host} == {NOW}


def test_reader_config_is_accepted_by_sllurp(sllurp: ModuleType) -> None:
    source = LlrpSource("reader", antennas=[3, 1, 3], tx_power_dbm=20)
    config = sllurp.LLRPReaderConfig(source.reader_config())
    assert config.antennas == [1, 3]
    assert config.tx_power_dbm == {1: 20.0, 3: 20.0}
    assert config.tag_content_selector["EnablePeakRSSI"] is True
    assert config.reconnect is False


class Collector:
    """Runs `source.batches()` in a thread, keeping every read."""

    def __init__(self, source: LlrpSource) -> None:
        self.source = source
        self.stop = threading.Event()
        self.reads: list[RawRead] = []
        self.clock: list[int] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            for batch in self.source.batches(self.stop):
                self.reads.extend(batch.reads)
                self.clock.append(batch.now_ms)
        except BaseException as exc:  # surfaced by the test
            self.error = exc

    def wait_for_reads(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.reads) < count:
            assert time.monotonic() < deadline, f"only {len(self.reads)} reads"
            time.sleep(0.01)

    def __enter__(self) -> Collector:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive(), "the source did not stop"
        assert self.error is None, repr(self.error)


def fast_source(port: int, **kwargs: Any) -> LlrpSource:
    options: dict[str, Any] = dict(
        antennas=[1, 2, 3], reconnect_s=0.1, poll_s=0.05, connect_timeout_s=1.0
    )
    options.update(kwargs)
    return LlrpSource("127.0.0.1", port, **options)


@pytest.fixture
def reader(sllurp: ModuleType) -> Iterator[FakeLlrpReader]:
    with FakeLlrpReader() as fake:
        yield fake


def test_connects_starts_inventory_and_delivers_tag_reports(reader: FakeLlrpReader) -> None:
    source = fast_source(reader.port)
    with Collector(source) as collector:
        connection = reader.wait_inventorying()
        # The handshake a reader sees: capabilities, config, reset, then the ROSpec.
        assert connection.received == [1, 2, 64, 3, 41, 21, ADD_ROSPEC, ENABLE_ROSPEC]
        antennas, content = rospec_summary(connection.bodies[ADD_ROSPEC][0])
        assert antennas == [1, 2, 3]
        assert {"EnableAntennaID", "EnablePeakRSSI", "EnableTagSeenCount"} <= content
        connection.send(
            ro_access_report([Tag(EPC96, antenna=2, peak_rssi=-48), Tag(EPC128, antenna=3)])
        )
        collector.wait_for_reads(2)
    assert [(r.epc, r.antenna, r.rssi) for r in collector.reads] == [
        (EPC96, 2, -48.0),
        (EPC128, 3, -55.0),
    ]
    assert collector.clock == sorted(collector.clock)
    assert all(r.ts_ms <= collector.clock[-1] for r in collector.reads)
    # Stopping deletes our specs on the reader (politely) and closes the connection.
    assert connection.received[8:9] == [DELETE_ACCESSSPEC]
    assert connection.closed.wait(5)
    assert (source.connects, source.reports, source.reads) == (1, 1, 2)


@pytest.mark.parametrize(("dbm", "index"), [(None, 3), (20.0, 2), (29.5, 2), (10.0, 1)])
def test_tx_power_is_the_highest_level_not_above_the_setting(
    reader: FakeLlrpReader, dbm: float | None, index: int
) -> None:
    with Collector(fast_source(reader.port, tx_power_dbm=dbm)):
        connection = reader.wait_inventorying()
    # The fake reader's power table is 10, 20, 30 dBm (indexes 1-3); unset means maximum.
    powers = transmit_power_indexes(connection.bodies[ADD_ROSPEC][0])
    assert powers == {1: index, 2: index, 3: index}


def test_reconnects_after_the_reader_drops_the_connection(reader: FakeLlrpReader) -> None:
    source = fast_source(reader.port)
    with Collector(source) as collector:
        first = reader.wait_inventorying(1)
        first.send(ro_access_report([Tag(EPC96, antenna=1)]))
        collector.wait_for_reads(1)
        reader.drop(first)
        second = reader.wait_inventorying(2)
        second.send(ro_access_report([Tag(EPC128, antenna=2)]))
        collector.wait_for_reads(2)
    assert [r.epc for r in collector.reads] == [EPC96, EPC128]
    assert source.connects == 2


def test_a_silent_reader_is_reconnected(reader: FakeLlrpReader) -> None:
    source = fast_source(reader.port, keepalive_s=0.2)  # silent for 0.6 s: reconnect
    with Collector(source):
        reader.wait_inventorying(1)
        reader.wait_inventorying(2, timeout=5)
    assert source.connects >= 2


def test_an_unreachable_reader_is_retried_until_stopped(sllurp: ModuleType) -> None:
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = placeholder.getsockname()[1]
    source = fast_source(port, reconnect_s=0.05)  # nothing listens there any more
    with Collector(source) as collector:
        time.sleep(0.3)
    assert source.connects == 0
    assert collector.reads == []


def test_reads_are_shed_and_counted_when_the_agent_falls_behind(sllurp: ModuleType) -> None:
    source = LlrpSource("reader", antennas=[1], max_queued_reports=1)
    report = decoded_report(sllurp, [Tag(EPC96), Tag(EPC128)])
    source.on_tag_report(None, report)
    source.on_tag_report(None, report)
    assert (source.reports, source.reads, source.dropped) == (2, 2, 2)


def test_without_sllurp_the_source_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "sllurp", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "sllurp.llrp", None)
    with pytest.raises(LlrpUnavailable, match="pip install 'sllurp"):
        LlrpSource("reader", antennas=[1])
