"""Rule parameters per store: the effective values (rules file, then overrides) and the
store's overrides, replaced over the API and validated (422 naming the field)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Body, Depends, HTTPException, Path, Request
from pydantic import ValidationError
from starlette.responses import Response

from api.context import ApiContext, get_context
from api.responses import json_response
from rules.engine import overrides_key
from rules.params import RuleParams, RulesConfig, field_errors, store_timezone
from storesense.protocol.identifiers import IDENTIFIER_PATTERN
from storesense.registry import stores as store_registry

router = APIRouter(prefix="/api/v1/stores", tags=["rules"])

StorePath = Annotated[str, Path(pattern=IDENTIFIER_PATTERN)]
Overrides = Annotated[
    dict[str, Any],
    Body(
        description="rule -> fields to override, e.g. "
        '{"fitting_room_unattended": {"after_min": 5}}; replaces earlier overrides'
    ),
]


def _config(request: Request, context: ApiContext) -> RulesConfig:
    # Loaded once per app (validated at the first request: a bad file is a 500 naming it).
    config: RulesConfig | None = getattr(request.app.state, "rules_config", None)
    if config is None:
        config = RulesConfig.load(context.settings.ingest.rules_path)
        request.app.state.rules_config = config
    return config


async def _view(
    context: ApiContext,
    store: str,
    params: RuleParams,
    overrides: dict[str, Any],
    config: RulesConfig,
) -> Any:
    # As the engine applies them: in the store's timezone (the registry's, else the settings')
    # unless the file or overrides set one.
    timezone = await store_registry.store_timezone(context.state, store, context.settings)
    params = store_timezone(params, timezone)
    return {
        "store": store,
        "params": params.model_dump(mode="json"),
        "overrides": overrides,
        "custom": [rule.id for rule in config.custom_for(store)],
    }


@router.get("/{store}/rules", summary="A store's rule parameters and its overrides")
async def get_rules(
    store: StorePath, request: Request, context: Annotated[ApiContext, Depends(get_context)]
) -> Response:
    config = _config(request, context)
    raw = await context.state.get(overrides_key(store))
    overrides: dict[str, Any] = msgspec.json.decode(raw) if raw else {}
    try:
        params = config.check_overrides(store, overrides)
    except ValidationError:  # stored before the file changed under it: show the file's
        params = config.params_for(store)
    return json_response(await _view(context, store, params, overrides, config))


@router.put("/{store}/rules", summary="Replace a store's rule overrides")
async def put_rules(
    store: StorePath,
    overrides: Overrides,
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
) -> Response:
    config = _config(request, context)
    try:
        params = config.check_overrides(store, overrides)
    except ValidationError as exc:
        raise HTTPException(422, field_errors(exc)) from None
    encoded = msgspec.json.encode(overrides)
    await context.state.update(overrides_key(store), lambda _old: (encoded, None))
    return json_response(await _view(context, store, params, overrides, config))
