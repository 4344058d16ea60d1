"""Prometheus counters of alerts: raised, suppressed, quiet, lifecycle changes, refusals,
and per delivery channel delivered / retried / dropped.

Read from the live objects at scrape time. In `storesense serve` ingest and the API share
one registry and each has its own raiser, lifecycle and dispatcher, so one collector per
registry sums over every source added to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from rules.delivery.dispatcher import Dispatcher
from rules.lifecycle.service import AlertLifecycle
from rules.raiser import AlertRaiser


class AlertSource(Protocol):
    @property
    def dispatcher(self) -> Dispatcher: ...

    @property
    def lifecycle(self) -> AlertLifecycle: ...

    @property
    def raiser(self) -> AlertRaiser: ...


class AlertCollector(Collector):
    def __init__(self) -> None:
        self._sources: list[AlertSource] = []

    def add(self, source: AlertSource) -> None:
        self._sources.append(source)

    def remove(self, source: AlertSource) -> None:
        if source in self._sources:
            self._sources.remove(source)

    def collect(self) -> Iterator[CounterMetricFamily]:
        raised = CounterMetricFamily("storesense_alerts_raised", "Alerts raised")
        suppressed = CounterMetricFamily(
            "storesense_alerts_suppressed",
            "New situations dropped: their (store, rule, thing) alerted within the cooldown",
        )
        quiet = CounterMetricFamily(
            "storesense_alerts_quiet", "Alerts raised in quiet hours: stored, not pushed"
        )
        changes = CounterMetricFamily(
            "storesense_alert_changes", "Alert lifecycle changes made here", labels=["state"]
        )
        refused = CounterMetricFamily(
            "storesense_alert_requests_refused", "Claims/resolves refused", labels=["reason"]
        )
        delivery = CounterMetricFamily(
            "storesense_alert_deliveries",
            "Alert deliveries per channel: delivered, retried (attempts failed), dropped",
            labels=["channel", "result"],
        )
        raised.add_metric([], sum(s.raiser.raised for s in self._sources))
        suppressed.add_metric([], sum(s.raiser.suppressed for s in self._sources))
        quiet.add_metric([], sum(s.raiser.quiet for s in self._sources))
        for state in ("claimed", "resolved", "escalated", "expired"):
            count = sum(getattr(s.lifecycle.counters, state) for s in self._sources)
            changes.add_metric([state], count)
        reasons: dict[str, int] = {}
        channels: dict[tuple[str, str], int] = {}
        for source in self._sources:
            for reason, count in source.lifecycle.counters.by_reason.items():
                reasons[reason] = reasons.get(reason, 0) + count
            for name, counters in source.dispatcher.counters.items():
                for result in ("delivered", "retried", "dropped"):
                    key = (name, result)
                    channels[key] = channels.get(key, 0) + getattr(counters, result)
        for reason, count in sorted(reasons.items()):
            refused.add_metric([reason], count)
        for labels, count in sorted(channels.items()):
            delivery.add_metric(list(labels), count)
        yield from (raised, suppressed, quiet, changes, refused, delivery)


_collectors: WeakKeyDictionary[CollectorRegistry, AlertCollector] = WeakKeyDictionary()


def alert_collector(registry: CollectorRegistry) -> AlertCollector:
    """The registry's alert collector, registered on first use."""
    collector = _collectors.get(registry)
    if collector is None:
        collector = _collectors[registry] = AlertCollector()
        registry.register(collector)
    return collector
