"""The organisation's documents on both state backends: unique ids, references kept whole,
concurrent creations of one id leave exactly one winner."""

from __future__ import annotations

import asyncio

import pytest

from storesense.backends.state.base import StateStore
from storesense.registry import stores
from storesense.registry.documents import Conflict, NotFound, RegistryError
from storesense.registry.organisation import Region, Store, Zone


async def test_concurrent_creations_of_one_id_have_one_winner(state: StateStore) -> None:
    results = await asyncio.gather(
        *(stores.regions(state).create(Region(id="east", name=f"E{n}"), "east") for n in range(8)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Region) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, Region))


async def test_references_are_kept_whole(state: StateStore) -> None:
    with pytest.raises(RegistryError) as unknown:
        await stores.create_store(state, Store(id="s1", name="S", region="east"))
    assert unknown.value.field == "region"
    await stores.regions(state).create(Region(id="east", name="East"), "east")
    await stores.create_store(state, Store(id="s1", name="S", region="east"))
    await stores.create_store(state, Store(id="s10", name="S10", region="east"))
    await stores.create_zone(state, "s1", Zone(id="floor-1", kind="floor", name="Floor"))
    await stores.create_zone(state, "s10", Zone(id="till", kind="till", name="Till"))
    assert [z.id for z in await stores.store_zones(state, "s1")] == ["floor-1"]  # not s10's
    with pytest.raises(Conflict):
        await stores.delete_region(state, "east")
    with pytest.raises(Conflict):
        await stores.delete_store(state, "s1", devices=1)
    await stores.delete_store(state, "s1", devices=0)
    assert await stores.load_store(state, "s1") is None
    assert await stores.store_zones(state, "s1") == []
    assert [s.id for s in await stores.stores_in_region(state, "east")] == ["s10"]
    with pytest.raises(NotFound):
        await stores.zones(state).delete("s1", "floor-1")
