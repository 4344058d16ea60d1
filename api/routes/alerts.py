"""Alerts: recent ones over REST, live ones over Server-Sent Events and WebSocket.

Both live streams accept the id of the last alert a client saw (`after`, or SSE's
`Last-Event-ID`) and replay what it missed before going live.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, WebSocket
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from api.context import ApiContext, get_context
from api.live import AlertHub, Subscription
from api.responses import json_response
from storesense.backends.state.base import StateStore
from storesense.protocol.alerts import Alert, encode_alert
from storesense.protocol.identifiers import IDENTIFIER_PATTERN

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

StoreParam = Annotated[
    str | None, Query(pattern=IDENTIFIER_PATTERN, description="only this store's alerts")
]
AfterParam = Annotated[
    str | None,
    Query(pattern=r"^[0-9a-f]{1,64}$", description="only alerts after this alert id"),
]
KEEPALIVE_S = 15.0


@router.get("", summary="Recent alerts, oldest first")
async def list_alerts(
    context: Annotated[ApiContext, Depends(get_context)],
    store: StoreParam = None,
    after: AfterParam = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    alerts = await context.state.alerts(store, limit=limit, after_id=after)
    return json_response({"alerts": alerts})


@router.get("/stream", summary="Live alerts as Server-Sent Events")
async def stream_alerts(
    context: Annotated[ApiContext, Depends(get_context)],
    store: StoreParam = None,
    after: AfterParam = None,
    last_event_id: Annotated[str | None, Header(pattern=r"^[0-9a-f]{1,64}$")] = None,
) -> StreamingResponse:
    subscription = context.hub.subscribe(store)
    resume_from = last_event_id or after

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 2000\n\n"
            async for alert in _live(context.state, context.hub, subscription, resume_from):
                if alert is None:
                    yield b": keepalive\n\n"
                    continue
                yield b"id: %s\nevent: alert\ndata: %s\n\n" % (
                    alert.id.encode(),
                    encode_alert(alert),
                )
        finally:
            context.hub.unsubscribe(subscription)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.websocket("/ws")
async def alerts_websocket(
    websocket: WebSocket,
    store: StoreParam = None,
    after: AfterParam = None,
) -> None:
    context: ApiContext = websocket.app.state.context
    await websocket.accept()
    subscription = context.hub.subscribe(store)

    async def send_alerts() -> None:
        async for alert in _live(context.state, context.hub, subscription, after):
            if alert is not None:
                await websocket.send_bytes(encode_alert(alert))

    async def until_disconnected() -> None:
        # Clients only listen; reading is how a closed socket is noticed between alerts.
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    sender = asyncio.create_task(send_alerts())
    watcher = asyncio.create_task(until_disconnected())
    try:
        await asyncio.wait((sender, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, watcher):
            task.cancel()
        await asyncio.gather(sender, watcher, return_exceptions=True)
        context.hub.unsubscribe(subscription)
    if subscription.closed:
        await websocket.close(code=1013, reason="too slow; reconnect with ?after=<last id>")


async def _live(
    state: StateStore, hub: AlertHub, subscription: Subscription, after: str | None
) -> AsyncIterator[Alert | None]:
    """Missed alerts first, then live ones; None now and then as a keepalive tick.
    Subscribed before reading the backlog, so nothing falls between the two."""
    replayed: set[str] = set()
    if after is not None:
        for missed in await state.alerts(subscription.store, limit=1000, after_id=after):
            replayed.add(missed.id)
            yield missed
    while True:
        try:
            alert: Alert | None = await asyncio.wait_for(subscription.queue.get(), KEEPALIVE_S)
        except TimeoutError:
            yield None
            continue
        if alert is None:
            return  # dropped as too slow
        if alert.id not in replayed:  # ids from several workers need not arrive in order
            yield alert
