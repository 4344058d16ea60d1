"""Devices as last reported on their retained `status` topic."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from api.context import ApiContext, get_context
from api.responses import json_response
from storesense.protocol.identifiers import IDENTIFIER_PATTERN

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


@router.get("", summary="Devices and their online/offline state")
async def list_devices(
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
) -> Response:
    return json_response({"devices": await context.state.devices(store)})
