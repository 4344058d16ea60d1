"""The fitting-room board: which rooms of a store are occupied, since when, by whom and
with which garments, read from ingest's room documents through the rules' read model."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from api.context import ApiContext, get_context
from api.responses import json_response
from rules.readmodel import ReadModel
from storesense.protocol.identifiers import IDENTIFIER_PATTERN
from storesense.registry import stored
from storesense.registry.members import Member
from storesense.registry.products import Product

router = APIRouter(prefix="/api/v1/stores", tags=["fitting rooms"])

StorePath = Annotated[str, Path(pattern=IDENTIFIER_PATTERN)]


class _Catalog:
    """The product catalog as the read model looks garments up (`product(gtin)`), cached
    per app until the products registry changes."""

    def __init__(self, products: list[Product], version: int) -> None:
        self.version = version
        self._by_gtin = {product.gtin: product for product in products}

    def product(self, gtin: str) -> Product | None:
        return self._by_gtin.get(gtin)


async def _catalog(request: Request, context: ApiContext) -> _Catalog:
    version = await context.state.records_version("products")
    cached: _Catalog | None = getattr(request.app.state, "room_catalog", None)
    if cached is None or cached.version != version:
        cached = _Catalog(await stored.load(context.state, Product), version)
        request.app.state.room_catalog = cached
    return cached


@router.get("/{store}/fitting-rooms", summary="The store's fitting rooms now")
async def fitting_rooms(
    store: StorePath, request: Request, context: Annotated[ApiContext, Depends(get_context)]
) -> Response:
    catalog: Any = await _catalog(request, context)  # duck-typed Directory: product(gtin)
    views = await ReadModel(context.state).rooms(store, catalog)
    members: dict[str, Member | None] = {}
    rooms = []
    for view in sorted(views, key=lambda v: v.zone):
        member = None
        if view.member_id is not None:
            if view.member_id not in members:
                members[view.member_id] = await stored.load_one(
                    context.state, Member, view.member_id
                )
            found = members[view.member_id]
            # Name and tier only: what an assistant needs to greet, no contact details.
            member = {"id": view.member_id, "name": found.name if found else None,
                      "tier": found.tier if found else None}  # fmt: skip
        rooms.append(
            {
                "zone": view.zone,
                "occupied": view.session_start_ms is not None,
                "since_ms": view.session_start_ms,
                "staff_present": view.staff_present,
                "staff_attended": view.staff_attended,
                "tried": view.tried,
                "items": [
                    {"gtin": p.gtin, "name": p.name, "colour": p.colour, "size": p.size}
                    for p in view.items
                ],
                "member": member,
            }
        )
    return json_response({"store": store, "rooms": rooms})
