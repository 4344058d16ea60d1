"""Typed access to registry records kept in the state store (one way to load and save
members, staff and products, whatever the backend)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import msgspec

from storesense.backends.state.base import StateStore
from storesense.registry.members import Member
from storesense.registry.products import Product
from storesense.registry.staff import StaffMember

R = TypeVar("R", Member, StaffMember, Product)

KINDS: dict[type[msgspec.Struct], str] = {
    Member: "members",
    StaffMember: "staff",
    Product: "products",
}
_encode = msgspec.json.Encoder().encode


def record_id(record: Member | StaffMember | Product) -> str:
    if isinstance(record, Member):
        return record.member_id
    if isinstance(record, StaffMember):
        return record.staff_id
    return record.gtin


async def save(state: StateStore, records: Sequence[R]) -> int:
    """Insert or replace records of one kind; return that registry's new version."""
    if not records:
        raise ValueError("nothing to save")
    kind = KINDS[type(records[0])]
    return await state.put_records(kind, {record_id(r): _encode(r) for r in records})


async def load(state: StateStore, model: type[R]) -> list[R]:
    decoder = msgspec.json.Decoder(model)
    return [decoder.decode(raw) for raw in (await state.records(KINDS[model])).values()]


async def load_one(state: StateStore, model: type[R], key: str) -> R | None:
    raw = await state.record(KINDS[model], key)
    return None if raw is None else msgspec.json.decode(raw, type=model)


async def versions(state: StateStore) -> tuple[int, ...]:
    """The versions of every registry kind, to notice any change."""
    return tuple([await state.records_version(kind) for kind in KINDS.values()])


async def delete(state: StateStore, model: type[R], key: str) -> bool:
    """Remove one record; False if there was none."""
    kind = KINDS[model]
    if await state.record(kind, key) is None:
        return False
    await state.delete_records(kind, [key])
    return True
