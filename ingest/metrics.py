"""Prometheus counters of the ingest path, registered on a registry passed in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.messages = Counter(
            "storesense_ingest_messages", "MQTT messages received", ["channel"], registry=registry
        )
        self.accepted = Counter(
            "storesense_ingest_events_accepted", "Events accepted", ["type"], registry=registry
        )
        self.rejected = Counter(
            "storesense_ingest_events_rejected", "Events rejected", ["reason"], registry=registry
        )
        self.replays = Counter(
            "storesense_ingest_replays_dropped",
            "Events dropped as replays of (store, device, id)",
            registry=registry,
        )
        self.members_recognized = Counter(
            "storesense_ingest_members_recognized",
            "Sightings resolved to a consenting member",
            ["source"],
            registry=registry,
        )
        self.backend_errors = Counter(
            "storesense_ingest_backend_errors",
            "Messages that failed on an unavailable backend",
            ["backend"],
            registry=registry,
        )
        self.latency = Histogram(
            "storesense_ingest_processing_seconds",
            "Time from message receipt to state updated and points queued",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=registry,
        )
        self.buffered_points = Gauge(
            "storesense_timeseries_buffered_points",
            "Points waiting to be written to the time-series store (memory and disk spool)",
            registry=registry,
        )
        self.secured_points = Gauge(
            "storesense_timeseries_secured_points",
            "Points put in the disk spool because their write passed the ack deadline",
            registry=registry,
        )
        self.dropped_points = Gauge(
            "storesense_timeseries_dropped_points",
            "Points dropped because the write buffer overflowed",
            registry=registry,
        )
