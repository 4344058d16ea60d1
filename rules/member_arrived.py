"""Rules on a member's arrival: `member.arrived` (every visit, with the member's profile) and
`member.returning` (back after a long absence)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from rules.drafts import AlertDraft
from rules.views import MemberProfile
from storesense.protocol.alerts import AlertMember
from storesense.registry.members import Member

SightingSource = Literal["app", "card", "sale"]
DAY_MS = 86_400_000


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
    profile: MemberProfile | None = None


@dataclass(frozen=True, slots=True)
class MemberArrivedParams:
    tiers: frozenset[str] | None = None  # None: every tier
    # A sighting this much older than now (an outbox replay after an outage) is history,
    # not an arrival an assistant can act on.
    max_age_s: int = 300


@dataclass(frozen=True, slots=True)
class MemberReturningParams:
    absent_days: int = 60
    tiers: frozenset[str] | None = None
    max_age_s: int = 300


def member_arrived(
    sighting: MemberSighting, params: MemberArrivedParams, now_ms: int
) -> AlertDraft | None:
    """One alert per visit: only the sighting that started the visit raises it."""
    if not _actionable(sighting, params.tiers, params.max_age_s, now_ms):
        return None
    facts: dict[str, object] = {
        "last_visit_ts": sighting.previous_visit_ms,
        "visit_start_ts": sighting.visit_start_ms,
        "source": sighting.source,
    }
    if sighting.profile is not None:
        facts.update({key: _plain(value) for key, value in asdict(sighting.profile).items()})
    return _draft("member.arrived", sighting, facts)


def member_returning(
    sighting: MemberSighting, params: MemberReturningParams, now_ms: int
) -> AlertDraft | None:
    """A member back after more than `absent_days` (members never seen before are not
    'returning': their first visit is the arrival alert's news)."""
    if not _actionable(sighting, params.tiers, params.max_age_s, now_ms):
        return None
    previous = sighting.previous_visit_ms
    if previous is None or sighting.visit_start_ms - previous <= params.absent_days * DAY_MS:
        return None
    facts: dict[str, object] = {
        "last_visit_ts": previous,
        "absent_days": (sighting.visit_start_ms - previous) // DAY_MS,
        "visit_start_ts": sighting.visit_start_ms,
    }
    return _draft("member.returning", sighting, facts)


def _actionable(
    sighting: MemberSighting, tiers: frozenset[str] | None, max_age_s: int, now_ms: int
) -> bool:
    member = sighting.member
    if not sighting.new_visit or not member.consent:
        return False
    if tiers is not None and (member.tier or "") not in tiers:
        return False
    return now_ms - sighting.ts_ms <= max_age_s * 1000


def _draft(rule: str, sighting: MemberSighting, facts: dict[str, object]) -> AlertDraft:
    member = sighting.member
    return AlertDraft(
        type=rule,
        store=sighting.store,
        ts_ms=sighting.ts_ms,
        zone=sighting.zone,
        member=AlertMember(id=member.member_id, name=member.name, tier=member.tier),
        facts=facts,
        rule=rule,
        subject=f"{member.member_id}@{sighting.visit_start_ms}",
    )


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value
