"""Organisation, regions, stores and zones in the state store, and the read API other
components use:

    await load_store(state, "flagship")            # Store | None (timezone, locale, hours, …)
    await stores_in_region(state, "east")          # [Store, …]
    await store_locale(state, "flagship", settings)  # registry, then `[stores.x]`, then default

Changes keep the references whole: a store names an existing region, a region with stores
or a store with devices is not deleted (Conflict), a zone belongs to an existing store.
"""

from __future__ import annotations

from storesense.backends.state.base import StateStore
from storesense.registry.documents import Collection, Conflict, RegistryError
from storesense.registry.organisation import Locale, Organisation, Region, Store, Zone
from storesense.settings import Settings

_ORGANISATION_KEY = "registry:organisation"


def regions(state: StateStore) -> Collection[Region]:
    return Collection(state, "region", Region)


def stores(state: StateStore) -> Collection[Store]:
    return Collection(state, "store", Store)


def zones(state: StateStore) -> Collection[Zone]:
    """Keyed by (store, zone)."""
    return Collection(state, "zone", Zone)


# -- the read API ----------------------------------------------------------------------------


async def load_organisation(state: StateStore) -> Organisation | None:
    raw = await state.get(_ORGANISATION_KEY)
    return None if raw is None else Organisation.model_validate_json(raw)


async def load_store(state: StateStore, store_id: str) -> Store | None:
    return await stores(state).get(store_id)


async def list_stores(state: StateStore) -> list[Store]:
    return await stores(state).list()


async def list_regions(state: StateStore) -> list[Region]:
    return await regions(state).list()


async def stores_in_region(state: StateStore, region_id: str) -> list[Store]:
    return [store for store in await list_stores(state) if store.region == region_id]


async def store_zones(state: StateStore, store_id: str) -> list[Zone]:
    return await zones(state).list(store_id)


async def store_locale(state: StateStore, store_id: str, settings: Settings) -> Locale:
    """The registry's locale for the store, else the settings' (`[stores.x]`, default)."""
    store = await load_store(state, store_id)
    return store.locale if store is not None else settings.locale_for(store_id)


async def store_timezone(state: StateStore, store_id: str, settings: Settings) -> str:
    store = await load_store(state, store_id)
    if store is not None:
        return store.timezone
    configured = settings.stores.get(store_id)
    return configured.timezone if configured else "UTC"


# -- changes ---------------------------------------------------------------------------------


async def put_organisation(state: StateStore, organisation: Organisation) -> Organisation:
    encoded = organisation.model_dump_json().encode()
    await state.update(_ORGANISATION_KEY, lambda _old: (encoded, None))
    return organisation


async def create_store(state: StateStore, store: Store) -> Store:
    await _check_region(state, store.region)
    return await stores(state).create(store, store.id)


async def replace_store(state: StateStore, store: Store) -> Store:
    await _check_region(state, store.region)
    return await stores(state).replace(store, store.id)


async def delete_store(state: StateStore, store_id: str, devices: int) -> None:
    """Delete a store and its zones; Conflict while it has `devices` registered."""
    await stores(state).require(store_id)
    if devices:
        raise Conflict(
            f"store {store_id!r} has {devices} registered device(s); delete them first",
            field="store",
        )
    for zone in await store_zones(state, store_id):
        await zones(state).delete(store_id, zone.id)
    await stores(state).delete(store_id)


async def delete_region(state: StateStore, region_id: str) -> None:
    await regions(state).require(region_id)
    members = [store.id for store in await stores_in_region(state, region_id)]
    if members:
        raise Conflict(
            f"region {region_id!r} still has stores {', '.join(members)}; move or delete them",
            field="region",
        )
    await regions(state).delete(region_id)


async def create_zone(state: StateStore, store_id: str, zone: Zone) -> Zone:
    await stores(state).require(store_id)
    return await zones(state).create(zone, store_id, zone.id)


async def _check_region(state: StateStore, region_id: str | None) -> None:
    if region_id is not None and await regions(state).get(region_id) is None:
        raise RegistryError(f"`region`: no region {region_id!r}; create it first", field="region")
