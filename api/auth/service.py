"""Logins, refreshes and bearer-token checks over the user, token, limiter and audit
stores: what the auth routes and the request guard call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from api.auth.audit import AuditLog
from api.auth.passwords import hash_password, needs_rehash, verify_password
from api.auth.ratelimit import LoginLimiter
from api.auth.roles import Principal
from api.auth.tokens import IssuedPair, TokenStore
from api.auth.users import User, UserStore, principal_for
from storesense.backends.state.base import StateStore
from storesense.settings import AuthSettings


@dataclass(frozen=True)
class LoginResult:
    outcome: Literal["ok", "refused", "limited"]
    pair: IssuedPair | None = None
    user: User | None = None
    principal: Principal | None = None
    retry_after_s: int = 0


class AuthService:
    def __init__(self, state: StateStore, settings: AuthSettings) -> None:
        self.state = state
        self.settings = settings
        self.users = UserStore(state)
        self.tokens = TokenStore(state, settings.access_ttl_s, settings.refresh_ttl_s)
        self.limiter = LoginLimiter(state, settings.login_max_failures, settings.login_window_s)
        self.audit = AuditLog(state, settings.audit_retention_days)

    async def login(self, username: str, password: str, ip: str | None) -> LoginResult:
        username = username.strip().lower()
        wait = await self.limiter.retry_after(username, ip)
        if wait:
            return LoginResult("limited", retry_after_s=wait)
        user = await self.users.get(username) if len(username) <= 64 else None
        stored = user.password_hash if user is not None else None
        if not verify_password(stored, password) or user is None or user.disabled:
            await self.limiter.failed(username, ip)
            return LoginResult("refused")
        await self.limiter.succeeded(username, ip)
        if stored is not None and needs_rehash(stored):
            rehashed = hash_password(password)
            await self.users.change(user.id, lambda u: _with_hash(u, rehashed))
        pair = await self.tokens.start_session(user.id, user.generation)
        principal = await principal_for(self.state, user, session=pair.session)
        return LoginResult("ok", pair=pair, user=user, principal=principal)

    async def refresh(self, refresh_token: str) -> LoginResult:
        record = await self.tokens.lookup(refresh_token)
        user = await self.users.get(record.user) if record is not None else None
        if user is None or user.disabled:
            return LoginResult("refused")
        pair = await self.tokens.rotate(refresh_token, user.generation)
        if pair is None:
            return LoginResult("refused")
        principal = await principal_for(self.state, user, session=pair.session)
        return LoginResult("ok", pair=pair, user=user, principal=principal)

    async def authenticate(self, token: str) -> Principal | None:
        """Who an access or API token acts for, or None when it is not valid now."""
        record = await self.tokens.lookup(token)
        if record is None or record.kind == "refresh":
            return None
        user = await self.users.get(record.user)
        if user is None or user.disabled or user.generation != record.generation:
            return None
        via = "api_token" if record.kind == "api" else "session"
        return await principal_for(self.state, user, via=via, session=record.session)


def _with_hash(user: User, password_hash: str) -> User:
    user.password_hash = password_hash
    return user
