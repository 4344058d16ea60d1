"""Rule `member.arrived`: a consenting member is first seen in a store during a visit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rules.drafts import AlertDraft
from storesense.protocol.alerts import AlertMember
from storesense.registry.members import Member

SightingSource = Literal["app", "card", "sale"]


@dataclass(frozen=True, slots=True)
class MemberSighting:
    store: str
    member: Member
    ts_ms: int
    new_visit: bool  # this sighting started the member's visit
    visit_start_ms: int
    previous_visit_ms: int | None  # end of the member's visit before this one
    source: SightingSource
    zone: str | None = None


@dataclass(frozen=True, slots=True)
class MemberArrivedParams:
    tiers: frozenset[str] | None = None  # None: every tier
    # A sighting this much older than now (an outbox replay after an outage) is history,
    # not an arrival an assistant can act on.
    max_age_s: int = 300


def member_arrived(
    sighting: MemberSighting, params: MemberArrivedParams, now_ms: int
) -> AlertDraft | None:
    """One alert per visit: only the sighting that started the visit raises it."""
    member = sighting.member
    if not sighting.new_visit or not member.consent:
        return None
    if params.tiers is not None and (member.tier or "") not in params.tiers:
        return None
    if now_ms - sighting.ts_ms > params.max_age_s * 1000:
        return None
    return AlertDraft(
        type="member.arrived",
        store=sighting.store,
        ts_ms=sighting.ts_ms,
        zone=sighting.zone,
        member=AlertMember(id=member.member_id, name=member.name, tier=member.tier),
        facts={
            "last_visit_ts": sighting.previous_visit_ms,
            "visit_start_ts": sighting.visit_start_ms,
            "source": sighting.source,
        },
    )
