"""Registry errors as HTTP answers: 404 unknown, 409 duplicate or still referenced, 422
naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException

from storesense.registry.documents import Conflict, NotFound, RegistryError


@contextmanager
def registry_errors() -> Iterator[None]:
    try:
        yield
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except Conflict as exc:
        raise HTTPException(409, {"field": exc.field, "message": str(exc)}) from None
    except RegistryError as exc:
        raise HTTPException(422, {"field": exc.field, "message": str(exc)}) from None
