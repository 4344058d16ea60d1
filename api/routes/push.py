"""Web Push for the web app: the VAPID public key browsers subscribe with, and the
subscriptions themselves, kept with the user's role and stores so that delivery
(`rules/delivery/webpush.py`) pushes each new alert to the staff of its store."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from starlette.responses import Response

from api.auth.guard import CurrentPrincipal
from api.context import ApiContext, get_context
from api.responses import json_response
from rules.delivery.push_store import (
    PushKeys,
    PushSubscription,
    remove_subscription,
    save_subscription,
    vapid_keys,
)

router = APIRouter(prefix="/api/v1/push", tags=["push"])

B64URL = r"^[A-Za-z0-9_-]+={0,2}$"


class SubscriptionKeys(BaseModel):
    p256dh: str = Field(pattern=B64URL, min_length=80, max_length=100,
                        description="the browser's P-256 public key (base64url)")  # fmt: skip
    auth: str = Field(pattern=B64URL, min_length=16, max_length=32,
                      description="the browser's auth secret (base64url)")  # fmt: skip


class SubscriptionRequest(BaseModel):
    """A browser's `PushSubscription.toJSON()`."""

    endpoint: str = Field(pattern=r"^https?://", max_length=2048)
    keys: SubscriptionKeys
    expirationTime: float | None = None  # the browser's own field name


class Unsubscribe(BaseModel):
    endpoint: str = Field(pattern=r"^https?://", max_length=2048)


@router.get("/key", summary="The VAPID public key (applicationServerKey) to subscribe with")
async def public_key(context: Annotated[ApiContext, Depends(get_context)]) -> Response:
    keys = await vapid_keys(context.state)
    return json_response({"public_key": keys.public_key})


@router.post(
    "/subscriptions",
    status_code=201,
    summary="Receive new alerts of your stores as push notifications on this browser",
)
async def subscribe(
    body: SubscriptionRequest,
    principal: CurrentPrincipal,
    context: Annotated[ApiContext, Depends(get_context)],
) -> Response:
    stores = ("*",) if principal.stores is None else tuple(sorted(principal.stores))
    subscription = PushSubscription(
        endpoint=body.endpoint,
        keys=PushKeys(p256dh=body.keys.p256dh, auth=body.keys.auth),
        # Alerts name staff ids in `targets`: the user's staff id, where it has one.
        user=principal.staff or principal.user,
        role=principal.role,
        stores=stores,
        created_ms=int(time.time() * 1000),
    )
    await save_subscription(context.state, subscription)
    return json_response({"endpoint": body.endpoint, "stores": list(stores)}, 201)


@router.post("/subscriptions/delete", summary="Stop push notifications on a browser")
async def unsubscribe(
    body: Unsubscribe,
    principal: CurrentPrincipal,
    context: Annotated[ApiContext, Depends(get_context)],
) -> Response:
    removed = await remove_subscription(context.state, body.endpoint)
    return json_response({"removed": removed})
