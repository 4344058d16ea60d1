"""Member visits as pure transitions (event time, no I/O).

A visit starts at a member's first sighting in a store and ends when the member has not
been seen for `gap_ms` (the next sighting after that starts a new visit). It records the
zones visited with dwell time, garments tried, and sales. Late sightings (older than the
last one) never start a visit.
"""

from __future__ import annotations

import msgspec


class MemberVisit(msgspec.Struct, kw_only=True):
    member_id: str
    start_ms: int
    last_seen_ms: int
    previous_visit_ms: int | None = None  # last sighting of the member's visit before this
    zone: str | None = None
    zone_since_ms: int | None = None
    dwell_ms: dict[str, int] = msgspec.field(default_factory=dict)
    tried: list[str] = msgspec.field(default_factory=list)  # gtins
    bought: list[str] = msgspec.field(default_factory=list)  # gtins
    sales: list[str] = msgspec.field(default_factory=list)  # sale ids
    sources: list[str] = msgspec.field(default_factory=list)  # how the member was seen
    closed: bool = False  # summarized already (by the sweep); the next sighting starts anew


class VisitSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A finished visit, as written to the time series."""

    member_id: str
    start_ms: int
    end_ms: int
    dwell_ms: dict[str, int]
    tried: int
    bought: int
    sales: int
    sources: list[str]


class SightingResult(msgspec.Struct, frozen=True):
    new_visit: bool
    visit_start_ms: int
    previous_visit_ms: int | None
    closed: VisitSummary | None = None  # the visit this sighting proved over
    # The sighting that started the visit, seen again (a replay): its fact is regenerated.
    is_start: bool = False
    start_source: str = ""


def on_sighting(
    visit: MemberVisit | None,
    member_id: str,
    ts_ms: int,
    zone: str | None,
    source: str,
    gap_ms: int,
    last_visit_ms: int | None = None,
) -> tuple[MemberVisit, SightingResult]:
    """Record a sighting; start a visit when there is none or the last one has lapsed.
    `last_visit_ms` is the end of the member's previous visit when no visit is at hand."""
    if visit is not None and ts_ms - visit.last_seen_ms <= gap_ms:
        _move(visit, ts_ms, zone)
        if source not in visit.sources:
            visit.sources.append(source)
        is_start = ts_ms == visit.start_ms and source == visit.sources[0]
        return visit, SightingResult(
            False, visit.start_ms, visit.previous_visit_ms, None, is_start, visit.sources[0]
        )
    closed = summarize(visit) if visit is not None and not visit.closed else None
    started = MemberVisit(
        member_id=member_id,
        start_ms=ts_ms,
        last_seen_ms=ts_ms,
        previous_visit_ms=visit.last_seen_ms if visit is not None else last_visit_ms,
        zone=zone,
        zone_since_ms=ts_ms if zone else None,
        sources=[source],
    )
    return started, SightingResult(True, ts_ms, started.previous_visit_ms, closed)


def close_if_over(visit: MemberVisit, now_ms: int, gap_ms: int) -> VisitSummary | None:
    """Close a visit nobody has seen for `gap_ms` (mutates it); None if still going."""
    if visit.closed or now_ms - visit.last_seen_ms <= gap_ms:
        return None
    visit.closed = True
    return summarize(visit)


def summarize(visit: MemberVisit) -> VisitSummary:
    dwell = dict(visit.dwell_ms)
    if visit.zone is not None and visit.zone_since_ms is not None:
        dwell[visit.zone] = dwell.get(visit.zone, 0) + visit.last_seen_ms - visit.zone_since_ms
    return VisitSummary(
        member_id=visit.member_id,
        start_ms=visit.start_ms,
        end_ms=visit.last_seen_ms,
        dwell_ms=dwell,
        tried=len(visit.tried),
        bought=len(visit.bought),
        sales=len(visit.sales),
        sources=list(visit.sources),
    )


def add_tried(visit: MemberVisit, gtin: str) -> None:
    visit.tried.append(gtin)


def add_sale(visit: MemberVisit, sale_id: str, gtins: list[str]) -> bool:
    """Record a sale once; False when this sale was already recorded (a replay)."""
    if sale_id in visit.sales:
        return False
    visit.sales.append(sale_id)
    visit.bought.extend(gtins)
    return True


def _move(visit: MemberVisit, ts_ms: int, zone: str | None) -> None:
    if ts_ms <= visit.last_seen_ms:
        return  # late sighting: already past it
    if zone is not None and zone != visit.zone:
        if visit.zone is not None and visit.zone_since_ms is not None:
            visit.dwell_ms[visit.zone] = (
                visit.dwell_ms.get(visit.zone, 0) + ts_ms - visit.zone_since_ms
            )
        visit.zone = zone
        visit.zone_since_ms = ts_ms
    visit.last_seen_ms = ts_ms
