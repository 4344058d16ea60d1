"""Build the FastAPI app around the backends it is given."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry

import storesense
from api.alert_feed import follow_alerts
from api.auth.guard import guard
from api.auth.service import AuthService
from api.context import ApiContext
from api.defs.problems import DocumentedApp
from api.live import AlertHub
from api.routes import (
    alerts,
    analytics,
    auth,
    devices,
    events,
    fitting_rooms,
    health,
    push,
    store_devices,
    stores,
    tasks,
    webapp,
)
from api.routes import registry as registry_routes
from api.routes import rules as rules_routes
from rules.delivery.push_store import vapid_keys
from rules.followups.running import followups_running
from rules.lifecycle.outcomes import PointQuery, PointSubmitter
from rules.lifecycle.running import alert_delivery
from storesense.backends.state.base import StateStore
from storesense.cancelling import cancel_and_wait
from storesense.mqtt import MqttLink
from storesense.settings import Settings


def create_app(
    settings: Settings,
    state: StateStore,
    registry: CollectorRegistry | None = None,
    *,
    points: PointSubmitter | None = None,
    series: PointQuery | None = None,
) -> FastAPI:
    """The API app; while it runs it follows the broker's alerts topics for live clients
    and publishes the alert changes it makes (claims, resolutions) on every channel.
    `points`/`series`: where alert outcomes are written and read back (reports)."""
    context = ApiContext(
        settings=settings,
        state=state,
        hub=AlertHub(),
        registry=registry or CollectorRegistry(),
        link=MqttLink(),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Web Push: the VAPID key pair is made on the first start, then kept (push_store.py).
        await vapid_keys(state)
        connected = asyncio.Event()
        feed = asyncio.create_task(
            follow_alerts(settings, context.hub, context.link, connected), name="alert-feed"
        )
        app.state.feed_connected = connected
        try:
            # Timers (escalation, expiry) run in ingest workers, not here.
            async with alert_delivery(
                settings,
                state,
                context.link.publish,
                points=points,
                timers=False,
                registry=context.registry,
            ) as delivery:
                app.state.lifecycle = delivery.lifecycle
                async with followups_running(
                    settings, state, delivery, points=points, series=series
                ) as followups:
                    app.state.followups = followups
                    yield
        finally:
            await cancel_and_wait(feed)

    app = DocumentedApp(
        title="storesense",
        version=storesense.__version__,
        summary="In-store sensing and recognition: alerts, devices, members.",
        lifespan=lifespan,
        # Every route, including those added later, passes the guard (api/auth/policy.py).
        dependencies=[Depends(guard)],
    )
    app.state.context = context
    app.state.auth = AuthService(state, settings.api.auth)
    app.state.outcome_series = series
    for module in (
        alerts,
        analytics,
        auth,
        devices,
        events,
        registry_routes,
        stores,
        store_devices,
        tasks,
        rules_routes,
        health,
    ):
        app.include_router(module.router)
    for module in (fitting_rooms, push, webapp):  # the web app and what only it uses
        app.include_router(module.router)

    return app
