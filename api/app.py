"""Build the FastAPI app around the backends it is given."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from prometheus_client import CollectorRegistry

import storesense
from api.alert_feed import follow_alerts
from api.context import ApiContext
from api.live import AlertHub
from api.routes import alerts, devices, events, health
from api.routes import registry as registry_routes
from storesense.backends.state.base import StateStore
from storesense.mqtt import MqttLink
from storesense.settings import Settings


def create_app(
    settings: Settings, state: StateStore, registry: CollectorRegistry | None = None
) -> FastAPI:
    """The API app; while it runs it follows the broker's alerts topics for live clients."""
    context = ApiContext(
        settings=settings,
        state=state,
        hub=AlertHub(),
        registry=registry or CollectorRegistry(),
        link=MqttLink(),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        connected = asyncio.Event()
        feed = asyncio.create_task(
            follow_alerts(settings, context.hub, context.link, connected), name="alert-feed"
        )
        app.state.feed_connected = connected
        try:
            yield
        finally:
            feed.cancel()
            await asyncio.gather(feed, return_exceptions=True)

    app = FastAPI(
        title="storesense",
        version=storesense.__version__,
        summary="In-store sensing and recognition: alerts, devices, members.",
        lifespan=lifespan,
    )
    app.state.context = context
    for module in (alerts, devices, events, registry_routes, health):
        app.include_router(module.router)

    page = (Path(__file__).parent / "static" / "index.html").read_text(encoding="utf-8")

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    return app
