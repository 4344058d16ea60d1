"""Liveness/readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from api.context import ApiContext, get_context
from storesense.errors import BackendUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="200 when the state backend answers, else 503")
async def health(context: Annotated[ApiContext, Depends(get_context)]) -> JSONResponse:
    try:
        await context.state.ping()
    except BackendUnavailable as exc:
        return JSONResponse({"status": "unavailable", "detail": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok", "live_clients": context.hub.clients})


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(context: Annotated[ApiContext, Depends(get_context)]) -> Response:
    return Response(generate_latest(context.registry), media_type=CONTENT_TYPE_LATEST)
