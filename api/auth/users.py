"""Users in the state backend: one document per user (`auth:user:{id}`), changed
atomically with `StateStore.update`."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import msgspec

from api.auth.roles import Principal, Role
from storesense.backends.state.base import StateStore
from storesense.protocol.identifiers import IDENTIFIER_PATTERN
from storesense.registry.stores import stores_in_region

USER_PATTERN = r"^[a-z0-9][a-z0-9_.@-]{0,63}$"
STAFF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"  # as in the staff registry
ALL_STORES = "*"  # in `stores`: the whole organisation (hq_admin always; integrations may)
_PREFIX = "auth:user:"


class User(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    name: str
    role: Role
    stores: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    staff: str | None = None
    password_hash: str | None = None  # None: cannot log in (integration accounts: tokens)
    disabled: bool = False
    # Bumped when the password, role or stores change: every token issued before is void.
    generation: int = 0
    created_ms: int = 0

    def public(self) -> dict[str, object]:
        return {
            "id": self.id, "name": self.name, "role": self.role, "stores": list(self.stores),
            "regions": list(self.regions), "staff": self.staff, "disabled": self.disabled,
            "can_log_in": self.password_hash is not None,
        }  # fmt: skip


class UserError(ValueError):
    """A user definition that cannot be stored; the message names the field."""


_decoder = msgspec.json.Decoder(User)


def validate(user: User) -> None:
    """Raise UserError naming the field when `user` is not a valid definition."""
    if not re.match(USER_PATTERN, user.id):
        raise UserError(f"`id` must match {USER_PATTERN} (lowercase), got {user.id!r}")
    if not user.name.strip() or len(user.name) > 200:
        raise UserError("`name` must be 1-200 characters")
    if user.staff is not None and not re.match(STAFF_PATTERN, user.staff):
        raise UserError(f"`staff` must match {STAFF_PATTERN}, got {user.staff!r}")
    for store in user.stores:
        if store != ALL_STORES and not re.match(IDENTIFIER_PATTERN, store):
            raise UserError(f"`stores`: {store!r} is not a store identifier")
    for region in user.regions:
        if not re.match(IDENTIFIER_PATTERN, region):
            raise UserError(f"`regions`: {region!r} is not a region identifier")
    if ALL_STORES in user.stores and user.role not in ("hq_admin", "integration"):
        raise UserError(f"`stores`: only hq_admin and integration may have {ALL_STORES!r}")
    if user.role == "region_manager" and not (user.regions or user.stores):
        raise UserError("`regions`: a region_manager needs at least one region (or stores)")
    if user.role in ("store_manager", "assistant", "integration") and not user.stores:
        raise UserError(f"`stores`: a {user.role} needs at least one store ('*' for all)")


class UserStore:
    """Users kept in the state backend."""

    def __init__(self, state: StateStore) -> None:
        self._state = state

    async def get(self, user_id: str) -> User | None:
        raw = await self._state.get(_PREFIX + user_id)
        return None if raw is None else _decoder.decode(raw)

    async def all(self) -> list[User]:
        return [_decoder.decode(raw) for _, raw in await self._state.scan(_PREFIX)]

    async def add(self, user: User) -> bool:
        """Store a new user; False when the id is taken."""
        validate(user)
        if not user.created_ms:
            user.created_ms = int(time.time() * 1000)
        encoded = msgspec.json.encode(user)

        def insert(old: bytes | None) -> tuple[bytes | None, bool]:
            return (old, False) if old is not None else (encoded, True)

        return await self._state.update(_PREFIX + user.id, insert)

    async def change(self, user_id: str, edit: Callable[[User], User]) -> User | None:
        """Atomically apply `edit` (pure) to a user; None when there is no such user."""

        def apply(old: bytes | None) -> tuple[bytes | None, User | None]:
            if old is None:
                return None, None
            user = edit(_decoder.decode(old))
            validate(user)
            return msgspec.json.encode(user), user

        return await self._state.update(_PREFIX + user_id, apply)

    async def delete(self, user_id: str) -> bool:
        def remove(old: bytes | None) -> tuple[bytes | None, bool]:
            return None, old is not None

        return await self._state.update(_PREFIX + user_id, remove)


async def principal_for(
    state: StateStore, user: User, *, via: str = "session", session: str | None = None
) -> Principal:
    """What `user` may see now: hq_admin and '*' everything, others their stores plus the
    stores of their regions (read from the registry at every request, so a store moved
    between regions moves its managers' access with it)."""
    stores: frozenset[str] | None
    if user.role == "hq_admin" or ALL_STORES in user.stores:
        stores = None
    else:
        found = set(user.stores)
        for region in user.regions:
            found.update(await region_stores(state, region))
        stores = frozenset(found)
    return Principal(
        user=user.id, name=user.name, role=user.role, stores=stores,
        regions=frozenset(user.regions), staff=user.staff,
        via="api_token" if via == "api_token" else "session", session=session,
    )  # fmt: skip


async def region_stores(state: StateStore, region: str) -> set[str]:
    """The stores the registry places in `region` (storesense/registry/stores.py)."""
    return {store.id for store in await stores_in_region(state, region)}
