"""The organisation over the API: organisation → regions → stores → zones (devices are in
`store_devices.py`). 404 for unknown ids, 409 for duplicates and for deleting what is still
referenced, 422 naming the field."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response

from api.auth.guard import CurrentPrincipal
from api.context import ApiContext, get_context
from api.registry_http import registry_errors
from storesense.protocol.identifiers import IDENTIFIER_PATTERN
from storesense.registry import stores as registry
from storesense.registry.organisation import (
    Organisation,
    Region,
    RegionBody,
    Store,
    StoreBody,
    Zone,
    ZoneBody,
)
from storesense.registry.provisioning import devices

router = APIRouter(prefix="/api/v1", tags=["stores"])

Context = Annotated[ApiContext, Depends(get_context)]
StoreId = Annotated[str, Path(pattern=IDENTIFIER_PATTERN)]
RegionId = Annotated[str, Path(pattern=IDENTIFIER_PATTERN)]
ZoneId = Annotated[str, Path(pattern=IDENTIFIER_PATTERN)]
_MISSING: dict[int | str, dict[str, Any]] = {404: {"description": "unknown id"}}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "duplicate id, or still referenced"}
}


@router.get("/organisation", response_model=Organisation, responses=_MISSING)
async def get_organisation(context: Context) -> Organisation:
    found = await registry.load_organisation(context.state)
    if found is None:
        raise HTTPException(404, "no organisation yet; PUT one")
    return found


@router.put("/organisation", response_model=Organisation)
async def put_organisation(body: Organisation, context: Context) -> Organisation:
    return await registry.put_organisation(context.state, body)


# -- regions ---------------------------------------------------------------------------------


@router.get("/regions", response_model=list[Region])
async def list_regions(context: Context) -> list[Region]:
    return await registry.list_regions(context.state)


@router.post("/regions", response_model=Region, status_code=201, responses=_CONFLICT)
async def create_region(body: Region, context: Context) -> Region:
    with registry_errors():
        return await registry.regions(context.state).create(body, body.id)


@router.get("/regions/{region}", response_model=Region, responses=_MISSING)
async def get_region(region: RegionId, context: Context) -> Region:
    with registry_errors():
        return await registry.regions(context.state).require(region)


@router.put("/regions/{region}", response_model=Region, responses=_MISSING)
async def replace_region(region: RegionId, body: RegionBody, context: Context) -> Region:
    with registry_errors():
        return await registry.regions(context.state).replace(
            Region(id=region, **body.model_dump()), region
        )


@router.delete("/regions/{region}", status_code=204, responses={**_MISSING, **_CONFLICT})
async def delete_region(region: RegionId, context: Context) -> Response:
    with registry_errors():
        await registry.delete_region(context.state, region)
    return Response(status_code=204)


@router.get("/regions/{region}/stores", response_model=list[Store], responses=_MISSING)
async def region_stores(region: RegionId, context: Context) -> list[Store]:
    with registry_errors():
        await registry.regions(context.state).require(region)
    return await registry.stores_in_region(context.state, region)


# -- stores ----------------------------------------------------------------------------------


@router.get("/stores", response_model=list[Store])
async def list_stores(
    context: Context,
    principal: CurrentPrincipal,
    region: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
) -> list[Store]:
    if region is not None:
        found = await registry.stores_in_region(context.state, region)
    else:
        found = await registry.list_stores(context.state)
    return [store for store in found if principal.may_see(store.id)]  # only theirs


@router.post(
    "/stores", response_model=Store, status_code=201,
    responses={**_CONFLICT, 422: {"description": "invalid field, or unknown `region`"}},
)  # fmt: skip
async def create_store(body: Store, context: Context) -> Store:
    with registry_errors():
        return await registry.create_store(context.state, body)


@router.get("/stores/{store}", response_model=Store, responses=_MISSING)
async def get_store(store: StoreId, context: Context) -> Store:
    with registry_errors():
        return await registry.stores(context.state).require(store)


@router.put("/stores/{store}", response_model=Store, responses=_MISSING)
async def replace_store(store: StoreId, body: StoreBody, context: Context) -> Store:
    with registry_errors():
        return await registry.replace_store(context.state, Store(id=store, **body.model_dump()))


@router.delete(
    "/stores/{store}", status_code=204, responses={**_MISSING, **_CONFLICT},
    summary="Delete a store and its zones (refused while devices are registered in it)",
)  # fmt: skip
async def delete_store(store: StoreId, context: Context) -> Response:
    registered = await devices(context.state).list(store)
    with registry_errors():
        await registry.delete_store(context.state, store, len(registered))
    return Response(status_code=204)


# -- zones -----------------------------------------------------------------------------------


@router.get("/stores/{store}/zones", response_model=list[Zone], responses=_MISSING)
async def list_zones(store: StoreId, context: Context) -> list[Zone]:
    with registry_errors():
        await registry.stores(context.state).require(store)
    return await registry.store_zones(context.state, store)


@router.post(
    "/stores/{store}/zones", response_model=Zone, status_code=201,
    responses={**_MISSING, **_CONFLICT},
)  # fmt: skip
async def create_zone(store: StoreId, body: Zone, context: Context) -> Zone:
    with registry_errors():
        return await registry.create_zone(context.state, store, body)


@router.get("/stores/{store}/zones/{zone}", response_model=Zone, responses=_MISSING)
async def get_zone(store: StoreId, zone: ZoneId, context: Context) -> Zone:
    with registry_errors():
        return await registry.zones(context.state).require(store, zone)


@router.put("/stores/{store}/zones/{zone}", response_model=Zone, responses=_MISSING)
async def replace_zone(store: StoreId, zone: ZoneId, body: ZoneBody, context: Context) -> Zone:
    with registry_errors():
        return await registry.zones(context.state).replace(
            Zone(id=zone, **body.model_dump()), store, zone
        )


@router.delete(
    "/stores/{store}/zones/{zone}", status_code=204, responses={**_MISSING, **_CONFLICT},
    summary="Delete a zone (refused while a device is placed in it)",
)  # fmt: skip
async def delete_zone(store: StoreId, zone: ZoneId, context: Context) -> Response:
    placed = [d.id for d in await devices(context.state).list(store) if d.zone == zone]
    if placed:
        raise HTTPException(
            409, {"field": "zone", "message": f"devices {', '.join(placed)} are in zone {zone!r}"}
        )
    with registry_errors():
        await registry.zones(context.state).delete(store, zone)
    return Response(status_code=204)
