"""Bearer tokens: short-lived access tokens with rotating refresh tokens (one pair per
login session), and long-lived API tokens for integrations.

Tokens are random strings; only their SHA-256 is stored (`auth:token:{sha256}`), so a copy
of the state backend gives no usable token. Each record names its user and the user's
`generation` when it was issued: changing a password, role or stores voids them all."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Literal

import msgspec

from storesense.backends.state.base import StateStore

TokenKind = Literal["access", "refresh", "api"]
_PREFIXES: dict[TokenKind, str] = {"access": "ssa_", "refresh": "ssr_", "api": "ssk_"}
_TOKEN = "auth:token:"
_SESSION = "auth:session:"
_API_INDEX = "auth:apitoken:"


class TokenRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    kind: TokenKind
    user: str
    generation: int
    session: str | None = None  # access and refresh tokens
    token_id: str | None = None  # API tokens
    expires_ms: int | None = None


class Session(msgspec.Struct, kw_only=True):
    user: str
    access: str  # sha256 of the current access token
    refresh: str  # sha256 of the current refresh token
    created_ms: int


class ApiToken(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What an administrator sees of an API token (never the token itself)."""

    id: str
    user: str
    name: str
    created_ms: int
    expires_ms: int | None = None
    digest: str = ""

    def public(self) -> dict[str, object]:
        return {"id": self.id, "user": self.user, "name": self.name,
                "created_ms": self.created_ms, "expires_ms": self.expires_ms}  # fmt: skip


class IssuedPair(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    session: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new(kind: TokenKind) -> str:
    return _PREFIXES[kind] + secrets.token_urlsafe(32)


def _now_ms() -> int:
    return int(time.time() * 1000)


_record = msgspec.json.Decoder(TokenRecord)
_session = msgspec.json.Decoder(Session)
_api = msgspec.json.Decoder(ApiToken)


class TokenStore:
    def __init__(self, state: StateStore, access_ttl_s: int, refresh_ttl_s: int) -> None:
        self._state = state
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s

    async def _write(self, key: str, value: bytes, ttl_s: int | None) -> None:
        await self._state.update(key, lambda _old: (value, None), ttl_s=ttl_s)

    async def _delete(self, key: str) -> bool:
        return await self._state.update(key, lambda old: (None, old is not None))

    async def lookup(self, token: str) -> TokenRecord | None:
        """The record of a live token, or None (unknown, revoked or expired)."""
        if len(token) > 200 or not token.startswith(tuple(_PREFIXES.values())):
            return None
        raw = await self._state.get(_TOKEN + digest(token))
        if raw is None:
            return None
        record = _record.decode(raw)
        if record.expires_ms is not None and record.expires_ms <= _now_ms():
            return None
        return record

    async def start_session(self, user: str, generation: int) -> IssuedPair:
        """A new login: an access token and a refresh token bound to one session."""
        session = secrets.token_hex(16)
        return await self._issue_pair(session, user, generation, _now_ms())

    async def _issue_pair(
        self, session: str, user: str, generation: int, created_ms: int
    ) -> IssuedPair:
        access, refresh = _new("access"), _new("refresh")
        now = _now_ms()
        for token, kind, ttl in (
            (access, "access", self.access_ttl_s),
            (refresh, "refresh", self.refresh_ttl_s),
        ):
            record = TokenRecord(
                kind=kind, user=user, generation=generation, session=session,  # type: ignore[arg-type]
                expires_ms=now + ttl * 1000,
            )  # fmt: skip
            await self._write(_TOKEN + digest(token), msgspec.json.encode(record), ttl)
        doc = Session(user=user, access=digest(access), refresh=digest(refresh),
                      created_ms=created_ms)  # fmt: skip
        await self._write(_SESSION + session, msgspec.json.encode(doc), self.refresh_ttl_s)
        return IssuedPair(access_token=access, refresh_token=refresh, session=session)

    async def rotate(self, refresh_token: str, generation: int) -> IssuedPair | None:
        """Trade a refresh token for a new pair; the old pair stops working at once.
        None when the refresh token is not live or was issued before `generation`."""
        record = await self.lookup(refresh_token)
        if record is None or record.kind != "refresh" or record.session is None:
            return None
        old_digest = digest(refresh_token)

        # Atomic on the session: of two concurrent refreshes with one token, one wins.
        def take(raw: bytes | None) -> tuple[bytes | None, Session | None]:
            if raw is None:
                return None, None
            doc = _session.decode(raw)
            if doc.refresh != old_digest:
                return raw, None
            return None, doc

        doc = await self._state.update(_SESSION + record.session, take)
        await self._delete(_TOKEN + old_digest)
        if doc is None:
            return None
        await self._delete(_TOKEN + doc.access)
        if record.generation != generation:
            return None
        return await self._issue_pair(record.session, record.user, generation, doc.created_ms)

    async def end_session(self, session: str) -> None:
        """Log out: the session's access and refresh tokens stop working."""

        def take(raw: bytes | None) -> tuple[bytes | None, Session | None]:
            return None, None if raw is None else _session.decode(raw)

        doc = await self._state.update(_SESSION + session, take)
        if doc is not None:
            await self._delete(_TOKEN + doc.access)
            await self._delete(_TOKEN + doc.refresh)

    async def create_api_token(
        self, user: str, generation: int, name: str, expires_days: int | None = None
    ) -> tuple[str, ApiToken]:
        """A new API token for `user`; the token is returned once and never stored."""
        token = _new("api")
        now = _now_ms()
        expires_ms = now + expires_days * 86_400_000 if expires_days else None
        info = ApiToken(id=secrets.token_hex(8), user=user, name=name, created_ms=now,
                        expires_ms=expires_ms, digest=digest(token))  # fmt: skip
        ttl = expires_days * 86_400 if expires_days else None
        record = TokenRecord(kind="api", user=user, generation=generation,
                             token_id=info.id, expires_ms=expires_ms)  # fmt: skip
        await self._write(_TOKEN + info.digest, msgspec.json.encode(record), ttl)
        await self._write(_API_INDEX + info.id, msgspec.json.encode(info), ttl)
        return token, info

    async def api_tokens(self, user: str | None = None) -> list[ApiToken]:
        found = [_api.decode(raw) for _, raw in await self._state.scan(_API_INDEX)]
        return [t for t in found if user is None or t.user == user]

    async def revoke_api_token(self, token_id: str) -> ApiToken | None:
        def take(raw: bytes | None) -> tuple[bytes | None, ApiToken | None]:
            return None, None if raw is None else _api.decode(raw)

        info = await self._state.update(_API_INDEX + token_id, take)
        if info is not None:
            await self._delete(_TOKEN + info.digest)
        return info
