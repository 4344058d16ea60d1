"""Registry documents (organisation, regions, stores, zones, devices) in the state store:
one JSON document per record under `registry:{kind}:{id}`, created, replaced and deleted
atomically through the backend's generic `update`, listed with `scan`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from pydantic import BaseModel

from storesense.backends.state.base import StateStore
from storesense.errors import StoresenseError

M = TypeVar("M", bound=BaseModel)


class RegistryError(StoresenseError):
    """A registry change was refused; `field` names what was wrong where relevant."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(RegistryError):
    pass


class Conflict(RegistryError):
    pass


class Collection(Generic[M]):
    """Records of one kind, keyed by id (`parts` of a key joined with `:`)."""

    def __init__(self, state: StateStore, kind: str, model: type[M]) -> None:
        self._state = state
        self.kind = kind
        self._model = model

    def _key(self, *parts: str) -> str:
        return f"registry:{self.kind}:" + ":".join(parts)

    async def get(self, *parts: str) -> M | None:
        raw = await self._state.get(self._key(*parts))
        return None if raw is None else self._model.model_validate_json(raw)

    async def require(self, *parts: str) -> M:
        found = await self.get(*parts)
        if found is None:
            raise NotFound(f"no {self.kind} {'/'.join(parts)!r}")
        return found

    async def list(self, *prefix: str) -> list[M]:
        """Every record, or those whose key starts with `prefix` parts, in key order."""
        start = self._key(*prefix) + (":" if prefix else "")
        return [self._model.model_validate_json(raw) for _, raw in await self._state.scan(start)]

    async def create(self, record: M, *parts: str) -> M:
        """Store a new record; Conflict if the id is taken."""
        encoded = record.model_dump_json(exclude_none=True).encode()

        def insert(old: bytes | None) -> tuple[bytes | None, bool]:
            return (old, False) if old is not None else (encoded, True)

        if not await self._state.update(self._key(*parts), insert):
            raise Conflict(f"{self.kind} {'/'.join(parts)!r} already exists", field="id")
        return record

    async def replace(self, record: M, *parts: str) -> M:
        """Replace an existing record; NotFound if there is none."""
        encoded = record.model_dump_json(exclude_none=True).encode()

        def swap(old: bytes | None) -> tuple[bytes | None, bool]:
            return (None, False) if old is None else (encoded, True)

        if not await self._state.update(self._key(*parts), swap):
            raise NotFound(f"no {self.kind} {'/'.join(parts)!r}")
        return record

    async def change(self, change: Callable[[M], M], *parts: str) -> M:
        """Atomically apply a pure `change` to an existing record; NotFound if none."""
        model = self._model

        def step(old: bytes | None) -> tuple[bytes | None, M | None]:
            if old is None:
                return None, None
            new = change(model.model_validate_json(old))
            return new.model_dump_json(exclude_none=True).encode(), new

        changed = await self._state.update(self._key(*parts), step)
        if changed is None:
            raise NotFound(f"no {self.kind} {'/'.join(parts)!r}")
        return changed

    async def delete(self, *parts: str) -> None:
        """Remove a record; NotFound if there is none."""

        def drop(old: bytes | None) -> tuple[bytes | None, bool]:
            return None, old is not None

        if not await self._state.update(self._key(*parts), drop):
            raise NotFound(f"no {self.kind} {'/'.join(parts)!r}")
