"""Devices as last reported on their retained `status` topic."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from api.auth.guard import CurrentPrincipal
from api.context import ApiContext, get_context
from api.responses import json_response
from storesense.protocol.identifiers import IDENTIFIER_PATTERN

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


@router.get("", summary="Devices and their online/offline state")
async def list_devices(
    context: Annotated[ApiContext, Depends(get_context)],
    principal: CurrentPrincipal,
    store: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
) -> Response:
    devices = await context.state.devices(store)
    return json_response({"devices": [d for d in devices if principal.may_see(d.store)]})
