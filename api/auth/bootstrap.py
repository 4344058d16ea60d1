"""Creating users outside the API: the first admin of a new installation, demo users and
the `storesense users` command."""

from __future__ import annotations

from collections.abc import Sequence

from api.auth.passwords import check_strength, generate_password, hash_password
from api.auth.roles import Role
from api.auth.tokens import TokenStore
from api.auth.users import User, UserError, UserStore
from storesense.backends.state.base import StateStore
from storesense.settings import AuthSettings

FIRST_ADMIN = "admin"


async def add_user(
    state: StateStore,
    user_id: str,
    *,
    name: str,
    role: Role,
    stores: Sequence[str] = (),
    regions: Sequence[str] = (),
    staff: str | None = None,
    password: str | None = None,
) -> User:
    """Store a new user (password hashed); UserError names what is wrong or taken."""
    if password is not None and (problem := check_strength(password)):
        raise UserError(problem)
    user = User(
        id=user_id, name=name, role=role, stores=tuple(stores), regions=tuple(regions),
        staff=staff, password_hash=hash_password(password) if password is not None else None,
    )  # fmt: skip
    if not await UserStore(state).add(user):
        raise UserError(f"user {user_id} exists")
    return user


async def set_password(state: StateStore, user_id: str, password: str) -> User:
    """A new password; every session and token of the user stops working."""
    if problem := check_strength(password):
        raise UserError(problem)
    new_hash = hash_password(password)

    def edit(user: User) -> User:
        user.password_hash, user.generation = new_hash, user.generation + 1
        return user

    changed = await UserStore(state).change(user_id, edit)
    if changed is None:
        raise UserError(f"no user {user_id}")
    return changed


async def issue_api_token(
    state: StateStore, settings: AuthSettings, user_id: str, name: str, days: int | None
) -> str:
    user = await UserStore(state).get(user_id)
    if user is None or user.disabled:
        raise UserError(f"no active user {user_id}")
    tokens = TokenStore(state, settings.access_ttl_s, settings.refresh_ttl_s)
    token, _ = await tokens.create_api_token(user.id, user.generation, name, days)
    return token


async def ensure_first_admin(state: StateStore) -> str | None:
    """With no user at all, create the hq_admin `admin` with a random password and return
    it (to be shown once, on the operator's console); else None."""
    if await UserStore(state).all():
        return None
    password = generate_password()
    try:
        await add_user(state, FIRST_ADMIN, name="Administrator", role="hq_admin",
                       password=password)  # fmt: skip
    except UserError:  # another process created it first
        return None
    return password


DEMO_USERS: tuple[tuple[str, str, Role], ...] = (
    ("admin", "Demo HQ", "hq_admin"),
    ("manager", "Demo store manager", "store_manager"),
    ("assistant", "Demo assistant", "assistant"),
)


async def demo_users(state: StateStore, store: str, staff: str | None) -> str:
    """The demo's users (admin, manager and assistant of `store`, the assistant linked to
    `staff`), sharing one random password, which is returned to be printed."""
    password = generate_password()
    for user_id, name, role in DEMO_USERS:
        await add_user(
            state, user_id, name=name, role=role, password=password,
            stores=() if role == "hq_admin" else (store,),
            staff=staff if role == "assistant" else None,
        )  # fmt: skip
    return password
