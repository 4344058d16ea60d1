"""The audit log of member-profile access: who saw which member's profile, when, in
which store, through which route. One document per entry under the store
(`auth:audit:{store}:{time}-{random}`), kept `retention_days`; read by hq_admin (all
stores) and store managers (their stores) over `GET /api/v1/auth/audit`."""

from __future__ import annotations

import itertools
import secrets
import time

import msgspec

from api.auth.roles import Principal
from storesense.backends.state.base import StateStore

_PREFIX = "auth:audit:"
NO_STORE = "_"  # profile views outside any store's context (HQ)


class AuditEntry(msgspec.Struct, kw_only=True):
    ts_ms: int
    user: str
    role: str
    action: str
    member: str
    store: str | None = None
    route: str | None = None
    ip: str | None = None
    personal_data: bool = False  # whether contact details were shown


_decoder = msgspec.json.Decoder(AuditEntry)
_SEQUENCE = itertools.count()


class AuditLog:
    def __init__(self, state: StateStore, retention_days: int = 400) -> None:
        self._state = state
        self.retention_s = retention_days * 86_400

    async def record(
        self,
        principal: Principal,
        member: str,
        *,
        store: str | None,
        action: str = "member.profile.view",
        route: str | None = None,
        ip: str | None = None,
        personal_data: bool = False,
    ) -> AuditEntry:
        entry = AuditEntry(
            ts_ms=int(time.time() * 1000), user=principal.user, role=principal.role,
            action=action, member=member, store=store, route=route, ip=ip,
            personal_data=personal_data,
        )  # fmt: skip
        # Within one millisecond a process's entries keep their order (the sequence number);
        # the random part keeps keys of several processes apart.
        sequence = next(_SEQUENCE)
        suffix = f"{sequence:012x}-{secrets.token_hex(4)}"
        key = f"{_PREFIX}{store or NO_STORE}:{entry.ts_ms:013x}-{suffix}"
        encoded = msgspec.json.encode(entry)
        await self._state.update(key, lambda _old: (encoded, None), ttl_s=self.retention_s)
        return entry

    async def entries(
        self, stores: list[str] | None, *, member: str | None = None, limit: int = 500
    ) -> list[AuditEntry]:
        """Newest last; `stores` None means every store (and views outside a store)."""
        prefixes = [_PREFIX] if stores is None else [f"{_PREFIX}{s}:" for s in stores]
        found: list[tuple[str, AuditEntry]] = []
        for prefix in prefixes:
            for key, raw in await self._state.scan(prefix):
                entry = _decoder.decode(raw)
                if member is None or entry.member == member:
                    found.append((key.rsplit(":", 1)[1], entry))
        found.sort(key=lambda pair: pair[0])
        return [entry for _, entry in found[-limit:]]
