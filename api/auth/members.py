"""Who may open a member's profile, what of it they see, and the audit trail of it.

HQ (and integrations bound to the whole organisation) open any profile; a principal bound
to stores opens the profile of a member who is in one of those stores now (an open visit:
`visit:{store}:{member}` in the state, kept by ingest), else the member is unknown to them
(404). Contact details (phone) are shown to PERSONAL_DATA_ROLES only. Every profile opened
is written to the audit log, with the store it was opened in."""

from __future__ import annotations

from typing import TypeVar

import msgspec
from fastapi import HTTPException
from pydantic import BaseModel

from api.auth.audit import AuditLog
from api.auth.roles import Principal
from storesense.backends.state.base import StateStore

M = TypeVar("M", bound=BaseModel)
PERSONAL_FIELDS = ("phone",)


class _Visit(msgspec.Struct):
    """The part of ingest's visit document read here (nothing imports ingest from api)."""

    closed: bool = False


_visit = msgspec.json.Decoder(_Visit)


async def in_store_now(state: StateStore, store: str, member: str) -> bool:
    raw = await state.get(f"visit:{store}:{member}")
    return raw is not None and not _visit.decode(raw).closed


async def open_profile(
    state: StateStore,
    audit: AuditLog,
    principal: Principal,
    member: str,
    *,
    store: str | None,
    route: str,
    ip: str | None,
) -> str | None:
    """Allow (and audit) `principal` opening `member`'s profile, in `store` if given; return
    the store it is opened in. HTTPException 404 when the member is not theirs to see."""
    if not principal.everywhere:
        candidates = [store] if store is not None else sorted(principal.stores or ())
        store = None
        for candidate in candidates:
            if principal.may_see(candidate) and await in_store_now(state, candidate, member):
                store = candidate
                break
        if store is None:
            raise HTTPException(404, f"no member {member} in your stores now")
    await audit.record(
        principal, member, store=store, route=route, ip=ip,
        personal_data=principal.sees_personal_data,
    )  # fmt: skip
    return store


def redact(profile: M, principal: Principal) -> M:
    """`profile` without contact details unless the principal's role needs them."""
    if principal.sees_personal_data:
        return profile
    hidden = {name: None for name in PERSONAL_FIELDS if name in type(profile).model_fields}
    return profile.model_copy(update=hidden)
