"""Live reads from an LLRP reader (Impinj, Zebra, …) through sllurp.

sllurp (GPL-3.0) is imported only when this source is built, so the rest of the agent
works without it. Its client runs its own socket thread: we connect, let it configure the
reader and start inventory (ADD_ROSPEC/ENABLE_ROSPEC), and its tag-report callback turns
each RO_ACCESS_REPORT into raw reads on a bounded queue that `batches()` drains. We own
reconnection: when the link drops, or the reader is silent for three keepalive intervals,
the client is discarded and a fresh one connects after `reconnect_s`.

Exercised in tests against a scripted LLRP peer on localhost speaking the binary protocol
(tests/edge/rfid/fake_reader.py); not yet run against reader hardware.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import queue
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any

from edge.rfid.reads import RawRead, ReadBatch
from storesense.errors import StoresenseError

log = logging.getLogger(__name__)

LLRP_PORT = 5084
MAX_SEEN_COUNT = 16  # a report that says "seen 300 times" counts as this many reads
_EPC = re.compile(r"[0-9a-f]{24,64}")
# What every tag report must carry for the filter: antenna, RSSI, last-seen time, count.
TAG_CONTENT = {
    "EnableROSpecID": False,
    "EnableSpecIndex": False,
    "EnableInventoryParameterSpecID": False,
    "EnableAntennaID": True,
    "EnableChannelIndex": False,
    "EnablePeakRSSI": True,
    "EnableFirstSeenTimestamp": False,
    "EnableLastSeenTimestamp": True,
    "EnableTagSeenCount": True,
    "EnableAccessSpecID": False,
}


class LlrpUnavailable(StoresenseError):
    """sllurp, which the LLRP source drives readers with, is not installed."""


def load_sllurp() -> ModuleType:
    """Import `sllurp.llrp`, or say how to install it."""
    try:
        return importlib.import_module("sllurp.llrp")
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] == "sllurp":
            raise LlrpUnavailable(
                "the LLRP reader source needs sllurp; install it with "
                "`pip install 'sllurp>=3.0.5,<4'` (GPL-3.0), or use a replay source"
            ) from None
        raise


def reads_from_tag_report(
    tags: Sequence[Mapping[str, Any]], *, now_ms: int, reader_time: bool = False
) -> tuple[list[RawRead], int]:
    """Raw reads from the `TagReportData` list sllurp hands its tag-report callback, and the
    number of entries skipped (no usable EPC or antenna).

    RSSI is Impinj's `ImpinjPeakRSSI` (1/100 dBm) when present, else `PeakRSSI` (dBm). Time is
    `now_ms`, or with `reader_time` the reader's `LastSeenTimestampUTC` (microseconds).
    `TagSeenCount` reads (at most MAX_SEEN_COUNT) are reported for an accumulated entry.
    """
    reads: list[RawRead] = []
    skipped = 0
    for tag in tags:
        epc = tag.get("EPC", tag.get("EPC-96"))
        if isinstance(epc, bytes | bytearray):
            epc = bytes(epc).decode("ascii", "replace")
        antenna = tag.get("AntennaID")
        if (
            not isinstance(epc, str)
            or _EPC.fullmatch(epc := epc.lower()) is None
            or not isinstance(antenna, int)
        ):
            skipped += 1
            continue
        impinj = tag.get("ImpinjPeakRSSI")
        peak = tag.get("PeakRSSI")
        rssi: float | None
        if isinstance(impinj, int):
            rssi = impinj / 100
        elif isinstance(peak, int | float):
            rssi = float(peak)
        else:
            rssi = None
        ts = now_ms
        seen_at = tag.get("LastSeenTimestampUTC")
        if reader_time and isinstance(seen_at, int) and seen_at > 0:
            ts = seen_at // 1000
        count = tag.get("TagSeenCount", 1)
        copies = min(count, MAX_SEEN_COUNT) if isinstance(count, int) and count > 0 else 1
        read = RawRead(ts, epc, antenna, rssi)
        reads.extend([read] * copies)
    return reads, skipped


class _HostClock:
    """Wall-clock milliseconds that never go back (an NTP step back holds time still
    rather than making every read look late)."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            self._last = max(self._last, time.time_ns() // 1_000_000)
            return self._last


class LlrpSource:
    """Reads from one LLRP reader; see the module docstring."""

    def __init__(
        self,
        host: str,
        port: int = LLRP_PORT,
        *,
        antennas: Sequence[int],
        tx_power_dbm: float | None = None,
        session: int = 2,
        tag_population: int = 16,
        mode_identifier: int | None = None,
        report_every_n_tags: int = 1,
        report_timeout_ms: int = 250,
        reader_time: bool = False,
        connect_timeout_s: float = 5.0,
        reconnect_s: float = 5.0,
        keepalive_s: float = 10.0,
        poll_s: float = 0.2,
        max_queued_reports: int = 10_000,
    ) -> None:
        if not antennas:
            raise ValueError("an LLRP source needs at least one antenna")
        self._llrp = load_sllurp()  # fail at start-up, not at the first connect
        self.host = host
        self.port = port
        self.antennas = sorted(set(antennas))
        self.tx_power_dbm = tx_power_dbm
        self.session = session
        self.tag_population = tag_population
        self.mode_identifier = mode_identifier
        self.report_every_n_tags = report_every_n_tags
        self.report_timeout_ms = report_timeout_ms
        self.reader_time = reader_time
        self.connect_timeout_s = connect_timeout_s
        self.reconnect_s = reconnect_s
        self.keepalive_s = keepalive_s
        self.poll_s = poll_s
        self._queue: queue.Queue[list[RawRead]] = queue.Queue(max_queued_reports)
        self._clock = _HostClock()
        self._heard = 0  # host ms of the reader's last message (report or keepalive)
        # Counters: written by the sllurp thread (reports, reads, skipped, dropped) or by
        # ours (connects, disconnects), read by anyone.
        self.reports = 0
        self.reads = 0
        self.skipped = 0
        self.dropped = 0
        self.connects = 0
        self.disconnects = 0

    def reader_config(self) -> dict[str, Any]:
        """The settings handed to sllurp's `LLRPReaderConfig`."""
        config: dict[str, Any] = {
            "antennas": list(self.antennas),
            "tx_power": 0,  # index 0: the reader's maximum
            "session": self.session,
            "tag_population": self.tag_population,
            "mode_identifier": self.mode_identifier,
            "report_every_n_tags": self.report_every_n_tags,
            "report_timeout_ms": self.report_timeout_ms,
            "tag_content_selector": dict(TAG_CONTENT),
            "start_inventory": True,
            "reset_on_connect": True,  # delete ROSpecs another client left behind
            "reconnect": False,  # we reconnect ourselves, with a fresh client
            "keepalive_interval": max(1, round(self.keepalive_s * 1000)),
        }
        if self.tx_power_dbm is not None:
            config["tx_power_dbm"] = {ant: float(self.tx_power_dbm) for ant in self.antennas}
        return config

    def batches(self, stop: threading.Event) -> Iterator[ReadBatch]:
        while not stop.is_set():
            connected = self._connect(stop)
            if connected is None:
                return
            reader, lost = connected
            try:
                yield from self._pump(reader, lost, stop)
            finally:
                self._disconnect(reader)
            if not stop.is_set():
                log.warning(
                    "llrp reader connection lost host=%s port=%d retry_s=%.1f",
                    self.host, self.port, self.reconnect_s,
                )  # fmt: skip
                stop.wait(self.reconnect_s)

    def _connect(self, stop: threading.Event) -> tuple[Any, threading.Event] | None:
        """A connected sllurp client (it goes on to start inventory by itself), and the event
        its disconnected callback sets; None once `stop` is set."""
        llrp = self._llrp
        while not stop.is_set():
            lost = threading.Event()  # per client: a late callback of an old one is harmless
            reader = llrp.LLRPReaderClient(
                self.host,
                self.port,
                llrp.LLRPReaderConfig(self.reader_config()),
                timeout=self.connect_timeout_s,
            )
            reader.add_tag_report_callback(self.on_tag_report)
            reader.add_message_callback("KEEPALIVE", self._on_keepalive)
            reader.add_disconnected_callback(lambda _reader, lost=lost: lost.set())
            try:
                reader.connect()
            except OSError as exc:
                log.warning(
                    "llrp reader unreachable host=%s port=%d error=%s retry_s=%.1f",
                    self.host, self.port, exc, self.reconnect_s,
                )  # fmt: skip
                stop.wait(self.reconnect_s)
                continue
            self.connects += 1
            self._heard = self._clock.now_ms()
            log.info("llrp reader connected host=%s port=%d", self.host, self.port)
            return reader, lost
        return None

    def _pump(
        self, reader: Any, lost: threading.Event, stop: threading.Event
    ) -> Iterator[ReadBatch]:
        silent_limit_ms = 3 * self.keepalive_s * 1000
        offset = 0  # reader clock minus host clock, with reader_time
        now = 0
        while not stop.is_set():
            reads: list[RawRead] = []
            try:
                reads.extend(self._queue.get(timeout=self.poll_s))
                while len(reads) < 5000:
                    reads.extend(self._queue.get_nowait())
            except queue.Empty:
                pass
            host_now = self._clock.now_ms()
            if self.reader_time and reads:
                offset = max(read.ts_ms for read in reads) - host_now
            now = max(now, host_now + offset)
            yield ReadBatch(reads, now)
            if lost.is_set() or not reader.is_alive():
                return
            if host_now - self._heard > silent_limit_ms:
                log.warning(
                    "llrp reader silent for %.0f s, reconnecting host=%s",
                    silent_limit_ms / 1000,
                    self.host,
                )
                return

    def _disconnect(self, reader: Any) -> None:
        self.disconnects += 1
        if reader.is_alive():
            # Politely: delete our AccessSpecs and ROSpecs, then close. Best effort: sllurp
            # sends DELETE_ACCESSSPEC before registering for its response, so a reader that
            # answers within microseconds can leave it waiting; then we close after the timeout
            # (the next connection deletes leftover ROSpecs: reset_on_connect).
            try:
                reader.disconnect(timeout=min(1.0, self.connect_timeout_s))
            except Exception as exc:
                log.info("llrp polite disconnect failed host=%s error=%r", self.host, exc)
        with contextlib.suppress(OSError):
            reader.hard_disconnect()
        reader.join(1.0)
        log.info("llrp reader disconnected host=%s port=%d", self.host, self.port)

    # sllurp's thread from here on.

    def on_tag_report(self, reader: Any, tags: Sequence[Mapping[str, Any]]) -> None:
        """sllurp's tag-report callback: queue the reads for `batches()`."""
        now = self._clock.now_ms()
        self._heard = now
        self.reports += 1
        reads, skipped = reads_from_tag_report(tags, now_ms=now, reader_time=self.reader_time)
        self.skipped += skipped
        if not reads:
            return
        try:
            self._queue.put_nowait(reads)
        except queue.Full:  # the agent is not keeping up: shed, and say so
            self.dropped += len(reads)
            if self.dropped == len(reads) or self.dropped % 10_000 < len(reads):
                log.warning("llrp read queue full, dropping reads dropped=%d", self.dropped)
            return
        self.reads += len(reads)

    def _on_keepalive(self, reader: Any, message: Any) -> None:
        self._heard = self._clock.now_ms()
