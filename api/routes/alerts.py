"""Alerts: recent ones over REST, live ones over Server-Sent Events and WebSocket; claim
and resolve; the outcome report.

Live streams carry every change of an alert (raised, escalated, claimed, resolved,
expired): clients upsert by `id`, keeping the highest `version`. Both accept the position
of the last change a client saw (`after`, or SSE's `Last-Event-ID`: the SSE event id, or
an alert id) and replay what changed since before going live.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, WebSocket
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

from api.auth.guard import CurrentPrincipal
from api.auth.roles import Principal
from api.context import ApiContext, get_context
from api.live import AlertHub, Subscription
from api.responses import json_response
from rules.lifecycle.machine import Changed, Refused
from rules.lifecycle.outcomes import PointQuery, outcome_report
from rules.lifecycle.service import AlertLifecycle
from storesense.backends.state.base import StateStore
from storesense.errors import BackendUnavailable
from storesense.protocol.alerts import Alert, Outcome, change_cursor, encode_alert
from storesense.protocol.identifiers import IDENTIFIER_PATTERN

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

StoreParam = Annotated[
    str | None, Query(pattern=IDENTIFIER_PATTERN, description="only this store's alerts")
]
AfterParam = Annotated[
    str | None,
    Query(pattern=r"^[0-9a-f]{1,64}$", description="only alerts after this alert id"),
]
AlertIdParam = Annotated[str, Path(pattern=r"^[0-9a-f]{1,64}$", description="the alert id")]
STAFF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"  # as in the staff registry
KEEPALIVE_S = 15.0


class ClaimRequest(BaseModel):
    staff: str | None = Field(
        default=None,
        pattern=STAFF_PATTERN,
        description="the claiming assistant's staff id; taken from the logged-in user when "
        "it is linked to one (integration tokens name it here)",
    )


class ResolveRequest(BaseModel):
    staff: str | None = Field(
        default=None, pattern=STAFF_PATTERN, description="who resolves (the holder); as in claim"
    )
    outcome: Outcome


def get_lifecycle(request: Request) -> AlertLifecycle:
    lifecycle: AlertLifecycle = request.app.state.lifecycle
    return lifecycle


@router.get("", summary="Recent alerts, oldest first")
async def list_alerts(
    context: Annotated[ApiContext, Depends(get_context)],
    principal: CurrentPrincipal,
    store: StoreParam = None,
    after: AfterParam = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    stores = principal.visible([store] if store else None)
    if stores is None:
        alerts = await context.state.alerts(store, limit=limit, after_id=after)
    else:  # the principal's stores, merged in id (= time) order
        alerts = []
        for each in stores:
            alerts.extend(await context.state.alerts(each, limit=limit, after_id=after))
        alerts.sort(key=lambda alert: alert.id)
        alerts = alerts[:limit] if after is not None else alerts[-limit:]
    return json_response({"alerts": alerts})


@router.get("/outcomes", summary="Alerts raised, claimed and their outcomes, per type")
async def alert_outcomes(
    request: Request,
    principal: CurrentPrincipal,
    store: StoreParam = None,
    since: Annotated[
        datetime | None, Query(description="RFC 3339 or epoch seconds; default 7 days ago")
    ] = None,
    until: Annotated[datetime | None, Query(description="default now")] = None,
) -> Response:
    series: PointQuery | None = request.app.state.outcome_series
    if series is None:
        return json_response({"detail": "no time-series store configured"}, 503)
    if store is None and principal.stores is not None:
        if len(principal.stores) != 1:
            return json_response({"detail": "name one of your stores: ?store="}, 403)
        [store] = principal.stores
    since, until = _aware(since), _aware(until)  # without an offset: UTC
    for name, value in (("since", since), ("until", until)):
        if value is not None and not _REPORTABLE[0] <= value <= _REPORTABLE[1]:
            problem = {"loc": ["query", name], "type": "value_error",
                       "msg": f"`{name}` must be between 1970 and 2200"}  # fmt: skip
            return json_response({"detail": [problem]}, 422)
    end_ns = int((until.timestamp() if until else time.time()) * 1e9)
    start_ns = int(since.timestamp() * 1e9) if since else end_ns - 7 * 86_400 * 10**9
    if start_ns >= end_ns:
        problem = {"loc": ["query", "since"], "msg": "`since` must be before `until`",
                   "type": "value_error"}  # fmt: skip
        return json_response({"detail": [problem]}, 422)
    try:
        report = await outcome_report(series, store, start_ns, end_ns)
    except BackendUnavailable as exc:  # InfluxDB down: say so, not 500
        return json_response({"detail": f"time-series store unavailable: {exc}"}, 503)
    return json_response(
        {"store": store, "since_ns": start_ns, "until_ns": end_ns, "types": report}
    )


# Times the time series can hold (epoch nanoseconds in 64 bits), as aware datetimes.
_REPORTABLE = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.get("/stream", summary="Live alerts as Server-Sent Events")
async def stream_alerts(
    context: Annotated[ApiContext, Depends(get_context)],
    principal: CurrentPrincipal,
    store: StoreParam = None,
    after: AfterParam = None,
    last_event_id: Annotated[str | None, Header(pattern=r"^[0-9a-f]{1,64}$")] = None,
) -> StreamingResponse:
    subscription = context.hub.subscribe(_one_store(principal, store))
    resume_from = last_event_id or after

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 2000\n\n"
            async for alert in _live(
                context.state, context.hub, subscription, resume_from, principal.may_see
            ):
                if alert is None:
                    yield b": keepalive\n\n"
                    continue
                yield b"id: %s\nevent: alert\ndata: %s\n\n" % (
                    change_cursor(alert).encode(),
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
    principal: CurrentPrincipal,
    store: StoreParam = None,
    after: AfterParam = None,
) -> None:
    context: ApiContext = websocket.app.state.context
    await websocket.accept()
    subscription = context.hub.subscribe(_one_store(principal, store))

    async def send_alerts() -> None:
        async for alert in _live(
            context.state, context.hub, subscription, after, principal.may_see
        ):
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


@router.get("/{alert_id}", summary="One alert as it stands")
async def get_alert(
    context: Annotated[ApiContext, Depends(get_context)],
    principal: CurrentPrincipal,
    alert_id: AlertIdParam,
) -> Response:
    alert = await context.state.alert(alert_id)
    if alert is None or not principal.may_see(alert.store):
        return json_response({"detail": f"no alert {alert_id}"}, 404)
    return json_response(alert)


@router.post(
    "/{alert_id}/claim",
    summary="Take an alert: exactly one assistant gets it",
    responses={404: {"description": "unknown alert"},
               409: {"description": "claimed by someone else (`holder`), or closed"}},
)  # fmt: skip
async def claim_alert(
    lifecycle: Annotated[AlertLifecycle, Depends(get_lifecycle)],
    context: Annotated[ApiContext, Depends(get_context)],
    principal: CurrentPrincipal,
    alert_id: AlertIdParam,
    body: ClaimRequest,
) -> Response:
    staff = await _acting_staff(context.state, principal, alert_id, body.staff)
    if isinstance(staff, Response):
        return staff
    try:
        return _answer(await lifecycle.claim(alert_id, staff))
    except BackendUnavailable as exc:
        return json_response({"detail": f"state backend unavailable: {exc}"}, 503)


@router.post(
    "/{alert_id}/resolve",
    summary="Close an alert with its outcome",
    responses={404: {"description": "unknown alert"},
               409: {"description": "claimed by someone else, or already closed"}},
)  # fmt: skip
async def resolve_alert(
    lifecycle: Annotated[AlertLifecycle, Depends(get_lifecycle)],
    context: Annotated[ApiContext, Depends(get_context)],
    principal: CurrentPrincipal,
    alert_id: AlertIdParam,
    body: ResolveRequest,
) -> Response:
    staff = await _acting_staff(context.state, principal, alert_id, body.staff)
    if isinstance(staff, Response):
        return staff
    try:
        return _answer(await lifecycle.resolve(alert_id, staff, body.outcome))
    except BackendUnavailable as exc:
        return json_response({"detail": f"state backend unavailable: {exc}"}, 503)


def _one_store(principal: Principal, store: str | None) -> str | None:
    """The store a live subscription follows: the one asked for, or a principal's only
    store; None (every store, filtered by `_live`) for several."""
    if store is None and principal.stores is not None and len(principal.stores) == 1:
        [store] = principal.stores
    return store


async def _acting_staff(
    state: StateStore, principal: Principal, alert_id: str, given: str | None
) -> str | Response:
    """Who claims or resolves: the user's linked staff id; integrations (and HQ, on behalf
    of someone) name it in the body. An alert of a store the user cannot see is unknown."""
    alert = await state.alert(alert_id)
    if alert is None or not principal.may_see(alert.store):
        return json_response({"detail": f"no alert {alert_id}"}, 404)
    if principal.staff is not None:
        if given is not None and given != principal.staff:
            detail = f"you act as staff {principal.staff}, not {given}"
            return json_response({"detail": detail}, 403)
        return principal.staff
    if given is None:
        problem = {"loc": ["body", "staff"], "type": "missing",
                   "msg": "your user is not linked to a staff id: name `staff`"}  # fmt: skip
        return json_response({"detail": [problem]}, 422)
    if principal.role not in ("integration", "hq_admin"):
        detail = "your user is not linked to a staff id; ask an admin to link it"
        return json_response({"detail": detail}, 403)
    return given


def _answer(result: Changed | Refused) -> Response:
    if isinstance(result, Changed):
        return json_response(result.alert)
    if result.reason == "unknown":
        return json_response({"detail": result.message}, 404)
    if result.reason == "unknown_staff":
        return json_response(
            {"detail": [{"loc": ["body", "staff"], "msg": result.message, "type": "value_error"}]},
            422,
        )
    alert = result.alert
    return json_response(
        {
            "detail": result.message,
            "holder": alert.claimed_by if alert else None,
            "state": alert.state if alert else None,
            "alert": alert,
        },
        409,
    )


async def _live(
    state: StateStore,
    hub: AlertHub,
    subscription: Subscription,
    after: str | None,
    visible: Callable[[str], bool] = lambda _store: True,
) -> AsyncIterator[Alert | None]:
    """Changes missed since `after` first, then live ones; None now and then as a keepalive
    tick. Subscribed before reading the backlog, so nothing falls between the two."""
    replayed: dict[str, int] = {}  # alert id -> version sent
    if after is not None:
        position = _cursor(after)
        for missed in await state.alert_changes(
            subscription.store, int(position[:13], 16), limit=1000
        ):
            if missed.quiet or change_cursor(missed) <= position or not visible(missed.store):
                continue
            replayed[missed.id] = missed.version
            yield missed
    while True:
        try:
            alert: Alert | None = await asyncio.wait_for(subscription.queue.get(), KEEPALIVE_S)
        except TimeoutError:
            yield None
            continue
        if alert is None:
            return  # dropped as too slow
        # Already sent from the backlog (workers' messages need not arrive in order).
        if alert.version > replayed.get(alert.id, 0) and visible(alert.store):
            yield alert


def _cursor(after: str) -> str:
    """A stream position from a client: a cursor we sent (38 hex digits), or an alert id
    (its first 13 digits are its creation time, so it reads as that alert's creation)."""
    if len(after) > 25:
        return after
    try:
        created = int(after[:13], 16)
    except ValueError:
        created = 0
    return f"{created:013x}{after}"
