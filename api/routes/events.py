"""Device events over HTTP (e.g. a POS posting `pos.sale`): validated here with the same
decoder as ingest, then published on the device's MQTT events topic, so ingest treats
them exactly like events from an MQTT device."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel

from api.context import ApiContext, get_context
from api.defs.problems import RequestProblem
from storesense.errors import BackendUnavailable
from storesense.protocol.decode import decode_events
from storesense.protocol.identifiers import IDENTIFIER_PATTERN
from storesense.protocol.topics import Topics

router = APIRouter(prefix="/api/v1/stores", tags=["events"])
# Read raw and decoded like an MQTT payload; declared so that /docs and clients know it.
_EVENTS_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"description": "one event or a batch"}}},
    }
}


class RejectedEvent(BaseModel):
    index: int | None
    event_id: str | None
    reason: str
    message: str


class EventsAccepted(BaseModel):
    accepted: int
    rejected: list[RejectedEvent]


class EventsRejected(BaseModel):
    """No event accepted: every event's reason, or a bad store or device id in the path."""

    detail: EventsAccepted | list[RequestProblem]


@router.post(
    "/{store}/devices/{device}/events",
    status_code=202,
    response_model=EventsAccepted,
    responses={422: {"model": EventsRejected}},
    openapi_extra=_EVENTS_BODY,
    summary="Submit one event or a batch, as on the MQTT events topic",
)
async def post_events(
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[str, Path(pattern=IDENTIFIER_PATTERN)],
    device: Annotated[str, Path(pattern=IDENTIFIER_PATTERN)],
) -> EventsAccepted:
    settings = context.settings.ingest
    body = await request.body()
    decoded = decode_events(
        body, store, device, max_bytes=settings.max_message_bytes,
        max_batch=settings.max_batch_events,
    )  # fmt: skip
    rejected = [
        RejectedEvent(index=r.index, event_id=r.event_id, reason=r.reason.value, message=r.message)
        for r in decoded.rejected
    ]
    if not decoded.accepted:
        raise HTTPException(422, {"accepted": 0, "rejected": [r.model_dump() for r in rejected]})
    payload = b"[" + b",".join(accepted.raw for accepted in decoded.accepted) + b"]"
    try:
        await context.link.publish(
            Topics(context.settings.topic_root).events(store, device), payload
        )
    except BackendUnavailable as exc:
        raise HTTPException(503, f"cannot reach the MQTT broker, retry later: {exc}") from None
    return EventsAccepted(accepted=len(decoded.accepted), rejected=rejected)
