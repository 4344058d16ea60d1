"""The BLE beacon scanner agent: advertisements -> `beacon.sighting` events."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from edge.beacon.advertisements import Advertisement
from edge.beacon.config import BeaconConfig, BleakSourceConfig, SourceConfig, parse_config
from edge.beacon.pipeline import BeaconPipeline, Sighting
from edge.beacon.sources import AdvertSource, BleakSource, ReplaySource
from edge.runtime.base import EventSink, new_event_id
from storesense.protocol.events import AnyEvent, BeaconSighting

log = logging.getLogger(__name__)


class BeaconAgent:
    """Implements `edge.runtime.base.Agent` for kind "beacon".

    Pass `source` to read advertisements from somewhere other than what the config's
    `source` section describes (tests, remote scanners).
    """

    kind: str = "beacon"

    def __init__(self, config: BeaconConfig, *, source: AdvertSource | None = None) -> None:
        self._config = config
        self._source = source
        self._pipeline = BeaconPipeline(config.pipeline_settings())
        self._lock = threading.Lock()  # apply_config runs on the runtime's thread
        self._running = False

    @classmethod
    def from_config(
        cls, section: Mapping[str, Any], *, source: AdvertSource | None = None
    ) -> BeaconAgent:
        """Build from the agent's config section; ValueError names a bad key."""
        return cls(parse_config(section), source=source)

    @property
    def config(self) -> BeaconConfig:
        return self._config

    @property
    def stats(self) -> dict[str, int]:
        """Counters for the runtime to export: adverts, sightings, lost, ignored.<reason>."""
        with self._lock:
            counts = dict(self._pipeline.counts)
            counts.update({f"ignored.{r}": n for r, n in self._pipeline.ignored.items()})
            counts["tracked"] = self._pipeline.tracked
        if isinstance(self._source, BleakSource):
            counts["dropped"] = self._source.dropped
            counts["scanner_restarts"] = self._source.restarts
        return counts

    def apply_config(self, config: Mapping[str, Any]) -> None:
        """Apply a live config section; tracked beacons keep their state. A section without
        `source` keeps the current one (radios are local); a different one needs a restart."""
        new = parse_config(config)
        with self._lock:
            if "source" not in config:
                new = msgspec.structs.replace(new, source=self._config.source)
            if self._running and new.source != self._config.source:
                raise ValueError(
                    "beacon config: key `source` cannot change while the agent runs; "
                    "restart the agent to switch radios or recordings"
                )
            self._pipeline.reconfigure(new.pipeline_settings())
            self._config = new
        log.info("beacon config applied scanners=%d zones=%d", len(new.scanners), len(new.zones))

    def run(self, sink: EventSink, stop: threading.Event) -> None:
        with self._lock:
            source = self._source or build_source(self._config.source)
            self._source = source
            self._running = True

        def deliver(batch: Sequence[Advertisement], now: float) -> None:
            with self._lock:
                sightings = [s for advert in batch for s in self._pipeline.observe(advert)]
                self._pipeline.sweep(now)
            if sightings:
                sink.emit([to_event(s) for s in sightings])

        log.info("beacon agent started source=%s", type(source).__name__)
        try:
            source.run(deliver, stop)
        finally:
            with self._lock:
                self._running = False
            log.info("beacon agent stopped %s", " ".join(f"{k}={v}" for k, v in self.stats.items()))


def build_source(config: SourceConfig) -> AdvertSource:
    if isinstance(config, BleakSourceConfig):
        return BleakSource(config.adapters, config.scanning_mode)
    return ReplaySource(config.path, speed=config.speed)


def to_event(sighting: Sighting) -> AnyEvent:
    return BeaconSighting(
        id=new_event_id(sighting.ts_ms),
        ts=sighting.ts_ms,
        beacon=sighting.beacon,
        rssi=sighting.rssi,
        zone=sighting.zone,
        tx_power=sighting.tx_power,
    )
