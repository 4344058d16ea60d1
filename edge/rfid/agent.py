"""The RFID fitting-room agent: raw reads -> presence filter -> `rfid.tag` enter/leave events.

The event carries the raw EPC (lowercase hex); ingest resolves it (garment GTIN, loyalty
card, staff badge). SGTIN-96 fields are decoded here only for debug logs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from edge.rfid.config import (
    LlrpSourceConfig,
    ReplaySourceConfig,
    RfidConfig,
    RfidConfigError,
    SourceConfig,
    parse_config,
)
from edge.rfid.filter import PresenceChange, PresenceFilter
from edge.rfid.llrp import LlrpSource
from edge.rfid.reads import ReadSource
from edge.rfid.sources import ReplaySource
from edge.runtime.base import EventSink, new_event_id
from storesense.errors import StoresenseError
from storesense.protocol.events import AnyEvent, RfidTag
from storesense.protocol.sgtin import InvalidSgtin, decode_sgtin96

log = logging.getLogger(__name__)


class RfidAgent:
    """Implements `edge.runtime.base.Agent` for kind "rfid".

    Pass `source` to read from somewhere other than what the config's `source` section
    describes (tests, other reader drivers).
    """

    kind: str = "rfid"

    def __init__(self, config: RfidConfig, *, source: ReadSource | None = None) -> None:
        if source is None:
            if config.source is None:
                raise RfidConfigError("rfid config: key `source` is required")
            source = build_source(config.source, config.antennas)
        self._config = config
        self._source = source
        self._filter = PresenceFilter(config.filter_config())
        self._pending: list[PresenceChange] = []  # from a live config, emitted with the next batch
        self._lock = threading.Lock()  # apply_config runs on the runtime's thread
        self._running = False

    @classmethod
    def from_config(
        cls, section: Mapping[str, Any], *, source: ReadSource | None = None
    ) -> RfidAgent:
        """Build from the agent's config section; RfidConfigError (ValueError) names a bad key."""
        return cls(parse_config(section, require_source=source is None), source=source)

    @property
    def config(self) -> RfidConfig:
        return self._config

    @property
    def present(self) -> dict[str, str]:
        """Where each tag is now (epc -> zone)."""
        with self._lock:
            return self._filter.present()

    @property
    def stats(self) -> dict[str, int]:
        """Counters for the runtime to export."""
        with self._lock:
            stats = self._filter.stats
            counts = {
                "reads": stats.reads,
                "reads_unmapped": stats.unmapped,
                "reads_weak": stats.weak,
                "reads_late": stats.late,
                "enters": stats.enters,
                "leaves": stats.leaves,
                "tracked": self._filter.tracked,
            }
        source = self._source
        if isinstance(source, LlrpSource):
            counts.update(
                reader_reports=source.reports,
                reader_reads_dropped=source.dropped,
                reader_reports_skipped=source.skipped,
                reader_connects=source.connects,
            )
        elif isinstance(source, ReplaySource):
            counts["log_rows_skipped"] = source.skipped
        return counts

    def apply_config(self, config: Mapping[str, Any]) -> None:
        """Apply a live config section. Tags keep their state; a tag in a zone that is gone
        leaves it. `source` may be left out (kept) but not changed while running."""
        new = parse_config(config, require_source=False)
        with self._lock:
            if new.source is None:
                new = msgspec.structs.replace(new, source=self._config.source)
            if new.source != self._config.source:
                if self._running:
                    raise RfidConfigError(
                        "rfid config: key `source` cannot change while the agent runs; "
                        "restart the agent to switch readers or logs"
                    )
                assert new.source is not None  # kept from the current config when left out
                self._source = build_source(new.source, new.antennas)
            self._warn_uninventoried(new)
            self._pending.extend(self._filter.reconfigure(new.filter_config()))
            self._config = new
        log.info(
            "rfid config applied antennas=%d zones=%d",
            len(new.antennas), len(set(new.antennas.values())),
        )  # fmt: skip

    def run(self, sink: EventSink, stop: threading.Event) -> None:
        with self._lock:
            source = self._source
            self._running = True
        log.info("rfid agent started source=%s", type(source).__name__)
        batches = source.batches(stop)
        try:
            for batch in batches:
                with self._lock:
                    changes, self._pending = self._pending, []
                    changes += self._filter.feed(batch.reads)
                    changes += self._filter.tick(batch.now_ms)
                self._emit(sink, changes)
                if stop.is_set():
                    return
            if not stop.is_set():
                # The log (or reader) is done: no more reads, so every tag times out.
                with self._lock:
                    changes, self._pending = self._pending, []
                    changes += self._filter.drain()
                self._emit(sink, changes)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()  # a generator's `finally` disconnects the reader / closes the file
            with self._lock:
                self._running = False
            log.info("rfid agent stopped %s", " ".join(f"{k}={v}" for k, v in self.stats.items()))

    def _emit(self, sink: EventSink, changes: Sequence[PresenceChange]) -> None:
        if not changes:
            return
        if log.isEnabledFor(logging.DEBUG):
            for change in changes:
                log.debug(
                    "rfid %s zone=%s epc=%s %s", change.action, change.zone, change.epc,
                    describe_epc(change.epc),
                )  # fmt: skip
        sink.emit([to_event(change) for change in changes])

    def _warn_uninventoried(self, new: RfidConfig) -> None:
        source = self._source
        if not self._running or not isinstance(source, LlrpSource):
            return
        extra = sorted(set(new.antennas) - set(source.antennas))
        if extra:
            log.warning(
                "rfid antennas %s are not inventoried by the reader until the agent restarts",
                extra,
            )


def build_source(config: SourceConfig, antennas: Iterable[int]) -> ReadSource:
    """The source a config section describes (nothing is opened yet); LLRP inventories the
    mapped antennas unless the section lists its own. RfidConfigError when it cannot be."""
    try:
        return _build_source(config, antennas)
    except StoresenseError as exc:  # unknown log format, sllurp not installed
        raise RfidConfigError(f"rfid config: key `source`: {exc}") from None


def _build_source(config: SourceConfig, antennas: Iterable[int]) -> ReadSource:
    if isinstance(config, ReplaySourceConfig):
        return ReplaySource(
            config.path, format=config.format, speed=config.speed, on_error=config.on_error
        )
    assert isinstance(config, LlrpSourceConfig)
    reader_antennas = config.antennas or [a for a in antennas if a >= 1]
    if not reader_antennas:
        raise RfidConfigError(
            "rfid config: key `antennas`: LLRP antenna ids start at 1; map at least one"
        )
    return LlrpSource(
        config.host,
        config.port,
        antennas=reader_antennas,
        tx_power_dbm=config.tx_power_dbm,
        session=config.session,
        tag_population=config.tag_population,
        mode_identifier=config.mode_identifier,
        report_every_n_tags=config.report_every_n_tags,
        report_timeout_ms=round(config.report_timeout_seconds * 1000),
        reader_time=config.timestamps == "reader",
        connect_timeout_s=config.connect_timeout_seconds,
        reconnect_s=config.reconnect_seconds,
        keepalive_s=config.keepalive_seconds,
    )


def to_event(change: PresenceChange) -> AnyEvent:
    return RfidTag(
        id=new_event_id(change.ts_ms),
        ts=change.ts_ms,
        epc=change.epc,
        action=change.action,
        zone=change.zone,
        antenna=change.antenna,
        rssi=change.rssi,
    )


def describe_epc(epc: str) -> str:
    """`gtin=… serial=…` for an SGTIN-96, else what kind of EPC it is (for debug logs)."""
    try:
        sgtin = decode_sgtin96(epc)
    except InvalidSgtin:
        return f"sgtin=no bits={len(epc) * 4}"
    return f"gtin={sgtin.gtin} serial={sgtin.serial}"
