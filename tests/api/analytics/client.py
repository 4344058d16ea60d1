"""An API client logged in as a user of a given role and stores."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from api.auth.passwords import hash_password
from api.auth.roles import Role
from api.auth.users import User, UserStore
from storesense.stack import RunningStack


@asynccontextmanager
async def logged_in(
    stack: RunningStack, role: Role, stores: tuple[str, ...]
) -> AsyncIterator[httpx.AsyncClient]:
    password, name = uuid.uuid4().hex, f"u{uuid.uuid4().hex[:8]}"
    user = User(id=name, name=name, role=role, stores=stores, password_hash=hash_password(password))
    await UserStore(stack.state).add(user)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"username": name, "password": password}
        )
        assert login.status_code == 200, login.text
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        yield client
