"""What really happened in a simulated store: the yardstick for the service's numbers.

Counting conventions (the service's metrics should agree with these):
- footfall counts people; a visit is one party through the door (a couple is one visit of 2);
- a member visit is a visit led by a member, consenting or not (`consent` says which; only
  consenting members with the app may be recognised by the service);
- a try-on is one garment carried into a fitting room; a conversion is a garment tried on
  and then bought in the same visit. A visit tries distinct GTINs, so per GTIN these equal
  the count of (visit, GTIN) pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Literal

import msgspec

MemberRefKind = Literal["card", "phone"]


class Item(msgspec.Struct, frozen=True, kw_only=True):
    """One tagged garment."""

    epc: str
    gtin: str
    price: float


class VisitTruth(msgspec.Struct, kw_only=True):
    visit: int  # 1-based, in order of arrival
    arrived_ms: int
    left_ms: int
    party_size: int
    member_id: str | None = None
    consent: bool | None = None  # None for anonymous visits
    has_app: bool | None = None
    app_ids: list[str] = msgspec.field(default_factory=list)  # the member phone's rotating IDs
    fitting_room: str | None = None
    tried: list[Item] = msgspec.field(default_factory=list)
    bought: list[Item] = msgspec.field(default_factory=list)
    sale_id: str | None = None
    member_ref: MemberRefKind | None = None  # how the sale named the member, if it did


class MemberVisits(msgspec.Struct, kw_only=True):
    member_id: str
    consent: bool
    has_app: bool
    visits: int
    app_ids: list[str]  # every rotating ID the member's phone advertised, in order

    @property
    def recognisable(self) -> bool:
        return self.consent and self.has_app


class RestockSituation(msgspec.Struct, frozen=True, kw_only=True):
    """A SKU tried on while none of its items was on the floor and the backroom had one
    (`stockroom.restock_situations`), with stock readers only.

    One per SKU and time its floor ran out: `floor_out_ms` is the event after which none of
    its items was on the floor (its last floor item leaving or sold, or, for a SKU first read
    in the backroom, that read); `tried_ms` the first such try-on of that outage."""

    gtin: str
    floor_out_ms: int
    tried_ms: int
    zone: str  # the fitting room
    backroom: int  # items of the SKU in the backroom then

    @property
    def subject(self) -> str:
        """The `stock.restock` alert's subject for this situation."""
        return f"{self.gtin}@{self.floor_out_ms}"


class GroundTruth(msgspec.Struct, kw_only=True, omit_defaults=True):
    store: str
    seed: int
    start_ms: int
    end_ms: int  # closing time; every visit has ended by then
    footfall_in: int
    footfall_out: int
    visits: int
    anonymous_visits: int
    member_visits: dict[str, MemberVisits]  # by member_id, consenting or not
    try_ons: dict[str, int]  # by GTIN
    sales: int
    items_sold: dict[str, int]  # by GTIN
    revenue: float
    conversions: dict[str, int]  # by GTIN: tried on, then bought in the same visit
    staff_fitting_room_visits: int
    events: int
    events_by_type: dict[str, int]
    parties: list[VisitTruth]
    # With stock readers only (left out of the JSON without them).
    restocks: list[RestockSituation] = msgspec.field(default_factory=list)

    def member_visit_counts(self, *, recognisable_only: bool = False) -> dict[str, int]:
        """Visits per member; with `recognisable_only`, consenting app users only."""
        return {
            member_id: entry.visits
            for member_id, entry in self.member_visits.items()
            if entry.recognisable or not recognisable_only
        }


def summarise(
    *,
    store: str,
    seed: int,
    start_ms: int,
    end_ms: int,
    parties: list[VisitTruth],
    staff_fitting_room_visits: int,
    event_types: Iterable[str],
    restocks: Iterable[RestockSituation] = (),
) -> GroundTruth:
    """Aggregate per-visit truth into the store's totals."""
    members: dict[str, MemberVisits] = {}
    for party in parties:
        if party.member_id is None:
            continue
        entry = members.get(party.member_id)
        if entry is None:
            entry = members[party.member_id] = MemberVisits(
                member_id=party.member_id,
                consent=bool(party.consent),
                has_app=bool(party.has_app),
                visits=0,
                app_ids=[],
            )
        entry.visits += 1
        entry.app_ids.extend(party.app_ids)

    try_ons = Counter(item.gtin for party in parties for item in party.tried)
    sold = Counter(item.gtin for party in parties for item in party.bought)
    conversions: Counter[str] = Counter()
    for party in parties:
        bought = {item.epc for item in party.bought}
        conversions.update(item.gtin for item in party.tried if item.epc in bought)
    people = sum(party.party_size for party in parties)
    by_type = Counter(event_types)
    return GroundTruth(
        store=store,
        seed=seed,
        start_ms=start_ms,
        end_ms=end_ms,
        footfall_in=people,
        footfall_out=sum(party.party_size for party in parties if party.left_ms <= end_ms),
        visits=len(parties),
        anonymous_visits=sum(1 for party in parties if party.member_id is None),
        member_visits=dict(sorted(members.items())),
        try_ons=_sorted(try_ons),
        sales=sum(1 for party in parties if party.sale_id is not None),
        items_sold=_sorted(sold),
        revenue=round(sum(item.price for party in parties for item in party.bought), 2),
        conversions=_sorted(conversions),
        staff_fitting_room_visits=staff_fitting_room_visits,
        events=sum(by_type.values()),
        events_by_type=_sorted(by_type),
        parties=parties,
        restocks=list(restocks),
    )


def _sorted(counts: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items()))
