"""Derived facts as time-series points (pure).

| measurement | tags | fields |
|---|---|---|
| `visit_start` | store, source | member_id |
| `visit_end` | store | member_id, duration_ms, dwell (JSON zone → ms), tried, bought, sales |
| `try_on` | store, zone, gtin | epc, member_id, style |
| `fitting_session` | store, zone | duration_ms, items, staff_present, member_id |
| `sale_item` | store, gtin | sale_id, epc, qty, price, member_id |
| `conversion` | store, gtin, zone | sale_id, epc, tried_ms, member_id |

GTIN is a tag (bounded by the catalog; analytics group by it); member ids and EPCs are
fields. Each fact's timestamp carries a stable offset from its own key, so regenerating a
fact overwrites it instead of adding a second one.
"""

from __future__ import annotations

import msgspec

from ingest.conversions import Conversion
from ingest.fitting_rooms import FittingSession, TryOn
from ingest.points import event_ts_ns
from ingest.visits import VisitSummary
from storesense.backends.timeseries.base import Point
from storesense.registry.products import Product

Fields = dict[str, int | float | str | bool]
_encode = msgspec.json.Encoder().encode


def _with_member(fields: Fields, member_id: str | None) -> Fields:
    if member_id is not None:
        fields["member_id"] = member_id
    return fields


def visit_start(store: str, member_id: str, start_ms: int, source: str) -> Point:
    return Point(
        measurement="visit_start",
        tags={"store": store, "source": source},
        fields={"member_id": member_id},
        ts_ns=event_ts_ns(start_ms, "visit", member_id),
    )


def visit_end(store: str, visit: VisitSummary) -> Point:
    return Point(
        measurement="visit_end",
        tags={"store": store},
        fields={
            "member_id": visit.member_id,
            "duration_ms": visit.end_ms - visit.start_ms,
            "dwell": _encode(visit.dwell_ms).decode(),
            "tried": visit.tried,
            "bought": visit.bought,
            "sales": visit.sales,
        },
        ts_ns=event_ts_ns(visit.end_ms, "visit_end", visit.member_id),
    )


def try_on(store: str, zone: str, tried: TryOn, product: Product | None) -> Point:
    fields: Fields = {"epc": tried.epc}
    if product is not None:
        fields["style"] = product.style
    return Point(
        measurement="try_on",
        tags={"store": store, "zone": zone, "gtin": tried.gtin},
        fields=_with_member(fields, tried.member_id),
        ts_ns=event_ts_ns(tried.ts_ms, "try_on", tried.epc),
    )


def fitting_session(store: str, zone: str, session: FittingSession) -> Point:
    fields: Fields = {
        "duration_ms": session.end_ms - session.start_ms,
        "items": session.items,
        "staff_present": session.staff_present,
    }
    return Point(
        measurement="fitting_session",
        tags={"store": store, "zone": zone},
        fields=_with_member(fields, session.member_id),
        ts_ns=event_ts_ns(session.start_ms, "session", zone),
    )


def sale_item(
    store: str, sale_id: str, index: int, gtin: str, epc: str | None, qty: int, price: float,
    ts_ms: int, member_id: str | None,
) -> Point:  # fmt: skip
    fields: Fields = {"sale_id": sale_id, "qty": qty, "price": float(price)}
    if epc is not None:
        fields["epc"] = epc
    return Point(
        measurement="sale_item",
        tags={"store": store, "gtin": gtin},
        fields=_with_member(fields, member_id),
        ts_ns=event_ts_ns(ts_ms, "sale_item", f"{sale_id}/{index}"),
    )


def conversion(store: str, converted: Conversion) -> Point:
    fields: Fields = {
        "sale_id": converted.sale_id,
        "epc": converted.epc,
        "tried_ms": converted.tried_ms,
    }
    return Point(
        measurement="conversion",
        tags={"store": store, "gtin": converted.gtin, "zone": converted.zone},
        fields=_with_member(fields, converted.member_id),
        ts_ns=event_ts_ns(converted.sold_ms, "conversion", converted.epc),
    )
