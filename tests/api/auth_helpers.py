"""Tokens for API tests: a user of a role, bound to stores, with a live session."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from api.auth.roles import Role
from api.auth.tokens import TokenStore
from api.auth.users import User, UserStore
from storesense.backends.state.base import StateStore


async def token_for(
    state: StateStore,
    role: Role = "hq_admin",
    stores: Sequence[str] = (),
    *,
    regions: Sequence[str] = (),
    staff: str | None = None,
    user_id: str | None = None,
) -> str:
    """An access token of a new user (no password: made here, not by logging in)."""
    user = User(
        id=user_id or f"{role.replace('_', '-')}-{secrets.token_hex(4)}", name=f"Test {role}",
        role=role, stores=tuple(stores), regions=tuple(regions), staff=staff,
    )  # fmt: skip
    assert await UserStore(state).add(user)
    pair = await TokenStore(state, 900, 3600).start_session(user.id, user.generation)
    return pair.access_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def admin_headers(state: StateStore) -> dict[str, str]:
    return bearer(await token_for(state, "hq_admin"))
