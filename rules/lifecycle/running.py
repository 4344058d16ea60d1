"""Alert lifecycle and delivery for one process (ingest worker or API): channels, the
dispatcher, the lifecycle and, where asked, its escalation/expiry timer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from rules.delivery.channels import alert_channels
from rules.delivery.dispatcher import Dispatcher
from rules.delivery.mqtt import Publish
from rules.lifecycle.metrics import alert_collector
from rules.lifecycle.outcomes import PointSubmitter
from rules.lifecycle.policy import AlertPolicy
from rules.lifecycle.service import AlertLifecycle, StaffRoles, run_timers
from rules.raiser import AlertRaiser
from storesense.backends.state.base import StateStore
from storesense.protocol.alerts import Alert
from storesense.settings import Settings


@dataclass(frozen=True)
class AlertDelivery:
    dispatcher: Dispatcher
    lifecycle: AlertLifecycle
    raiser: AlertRaiser


@asynccontextmanager
async def alert_delivery(
    settings: Settings,
    state: StateStore,
    mqtt_publish: Publish,
    *,
    points: PointSubmitter | None = None,
    timers: bool = True,
    registry: CollectorRegistry | None = None,
    clock: Callable[[], float] | None = None,
) -> AsyncIterator[AlertDelivery]:
    """Run delivery (and the timers when `timers`) until exit. Every process that raises
    or changes alerts needs one; timers may run in several processes at once."""
    policy = AlertPolicy(settings)
    staff = StaffRoles(state)
    extra = {} if clock is None else {"clock": clock}
    async with alert_channels(settings, mqtt_publish, state) as channels:
        lifecycle: AlertLifecycle | None = None

        async def delivered(alert: Alert) -> None:
            if lifecycle is not None:
                await lifecycle.mark_delivered(alert)

        async with Dispatcher(channels, on_delivered=delivered) as dispatcher:
            lifecycle = AlertLifecycle(
                state, dispatcher.publish, policy, points=points, staff=staff, **extra
            )
            raiser = AlertRaiser(
                state, dispatcher, settings.locale_for, policy=policy, points=points, staff=staff,
                **extra,
            )  # fmt: skip
            timer = (
                asyncio.create_task(
                    run_timers(lifecycle, settings.alerts.timer_interval_s), name="alert-timers"
                )
                if timers
                else None
            )
            delivery = AlertDelivery(dispatcher=dispatcher, lifecycle=lifecycle, raiser=raiser)
            collector = alert_collector(registry) if registry is not None else None
            if collector is not None:
                collector.add(delivery)
            try:
                yield delivery
            finally:
                if collector is not None:
                    collector.remove(delivery)
                if timer is not None:
                    timer.cancel()
                    await asyncio.gather(timer, return_exceptions=True)
