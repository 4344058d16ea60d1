"""Aggregate stored points into the analytics figures (pure: points in, models out).

Each point counts in the bucket of its own store's local time, and only when it falls in the
period as that store reckons it. Which measurement answers what (README "What ingest
records"): door counts are footfall and, one event per party, visits; `visit_start` are
member visits; `pos_sale` are sales; `visit_end` carries member dwell; `fitting_session` and
`try_on` the fitting rooms; `conversion` a tried garment sold; `sale_item` with a member id a
member's purchase; `alert_*` the alert lifecycle; `followup_*` follow-up tasks
(`rules/followups/points.py`).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Generic, Protocol, TypeVar, get_args

import msgspec

from api.analytics.models import (
    AlertFigures,
    ConversionFigures,
    DwellFigures,
    FittingRoomFigures,
    FollowupFigures,
    RepurchaseFigures,
    RoomFigures,
    SkuConversion,
    StyleConversion,
    TrafficFigures,
    ZoneDwell,
)
from api.analytics.periods import Period, bucket_of, bucket_starts
from rules.followups.model import Source
from storesense.backends.timeseries.base import Point

F = TypeVar("F", covariant=True)
Points = Mapping[str, Sequence[Point]]  # measurement -> points

TRAFFIC = ("door_crossing", "visit_start", "pos_sale")
DWELL = ("visit_end",)
FITTING_ROOMS = ("fitting_session", "try_on")
CONVERSION = ("try_on", "conversion")
REPURCHASE = ("sale_item",)
ALERTS = ("alert_raised", "alert_claimed", "alert_outcome")
FOLLOWUPS = ("followup_created", "followup_outcome")
# Read up to PURCHASE_LOOKAHEAD after the period: a task created in it may be attributed a
# sale until its window ends (`window_days` is at most 90, in the settings and POST /tasks).
FOLLOWUP_PURCHASES = ("followup_attributed",)
PURCHASE_LOOKAHEAD = timedelta(days=90)
_SOURCES: tuple[str, ...] = get_args(Source)

_dwell_decoder = msgspec.json.Decoder(dict[str, float])


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Frame:
    """Where points fall: the period, each store's timezone, the stores in scope (None: all)."""

    period: Period
    timezone_of: Callable[[str], tzinfo]
    stores: frozenset[str] | None = None
    _windows: dict[str, tuple[tzinfo, int, int]] = field(default_factory=dict, repr=False)

    def window(self, store: str) -> tuple[tzinfo, int, int]:
        known = self._windows.get(store)
        if known is None:
            tz = self.timezone_of(store)
            known = self._windows[store] = (tz, *self.period.window_ns(tz))
        return known

    def place(self, point: Point) -> tuple[str, datetime] | None:
        """The point's store and bucket, or None when it is outside the scope or period."""
        store = point.tags.get("store")
        if store is None or (self.stores is not None and store not in self.stores):
            return None
        tz, start_ns, end_ns = self.window(store)
        if not start_ns <= point.ts_ns < end_ns:
            return None
        return store, bucket_of(point.ts_ns, tz, self.period.bucket)

    def bucket_starts(self, stores: Iterable[str]) -> list[datetime]:
        """Every bucket of the period in any of the stores' timezones, in order."""
        starts: set[datetime] = set()
        for store in stores:
            tz, start_ns, end_ns = self.window(store)
            starts.update(bucket_starts(start_ns, end_ns, tz, self.period.bucket))
        return sorted(starts)


class Tally(Protocol[F]):
    """Accumulates points of some measurements into one set of figures."""

    def add(self, measurement: str, point: Point) -> None: ...

    def figures(self) -> F: ...


T = TypeVar("T")


@dataclass
class Bucketed(Generic[T]):
    totals: T
    buckets: list[tuple[datetime, T]]
    stores: dict[str, T]


def bucketed(frame: Frame, points: Points, new: Callable[[], Tally[T]]) -> Bucketed[T]:
    """Figures over everything, per bucket (every bucket of the period, empty ones too) and
    per store (every store of the scope, and any other seen)."""
    total = new()
    by_bucket: dict[datetime, Tally[T]] = defaultdict(new)
    by_store: dict[str, Tally[T]] = {store: new() for store in sorted(frame.stores or ())}
    for measurement, found in points.items():
        for point in found:
            place = frame.place(point)
            if place is None:
                continue
            store, bucket = place
            total.add(measurement, point)
            by_bucket[bucket].add(measurement, point)
            if store not in by_store:
                by_store[store] = new()
            by_store[store].add(measurement, point)
    stores = sorted(by_store) or [""]
    return Bucketed(
        totals=total.figures(),
        buckets=[(start, by_bucket[start].figures()) for start in frame.bucket_starts(stores)],
        stores={store: by_store[store].figures() for store in sorted(by_store)},
    )


def totals(frame: Frame, points: Points, tally: Tally[T]) -> T:
    """Figures over everything in the scope and period."""
    for measurement, found in points.items():
        for point in found:
            if frame.place(point) is not None:
                tally.add(measurement, point)
    return tally.figures()


def _int(point: Point, key: str, default: int = 0) -> int:
    value = point.fields.get(key, default)
    return int(value) if isinstance(value, int | float) else default


class TrafficTally:
    def __init__(self) -> None:
        self.footfall_in = self.footfall_out = self.visits = self.member_visits = 0
        self.sales: set[tuple[str, str]] = set()

    def add(self, measurement: str, point: Point) -> None:
        if measurement == "door_crossing":
            count = _int(point, "count", 1)
            if point.tags.get("direction") == "in":
                self.footfall_in += count
                self.visits += 1
            elif point.tags.get("direction") == "out":
                self.footfall_out += count
        elif measurement == "visit_start":
            self.member_visits += 1
        elif measurement == "pos_sale":
            self.sales.add((point.tags.get("store", ""), str(point.fields.get("sale_id", ""))))

    def figures(self) -> TrafficFigures:
        return TrafficFigures(
            footfall_in=self.footfall_in,
            footfall_out=self.footfall_out,
            visits=self.visits,
            member_visits=self.member_visits,
            member_share=ratio(self.member_visits, self.visits),
            visits_with_sale=len(self.sales),
            sales_conversion=ratio(len(self.sales), self.visits),
        )


class DwellTally:
    def __init__(self) -> None:
        self.durations_ms: list[int] = []
        self.zone_ms: Counter[str] = Counter()
        self.zone_visits: Counter[str] = Counter()

    def add(self, measurement: str, point: Point) -> None:
        if measurement != "visit_end":
            return
        self.durations_ms.append(_int(point, "duration_ms"))
        raw = point.fields.get("dwell")
        try:
            dwell = _dwell_decoder.decode(raw) if isinstance(raw, str) else {}
        except msgspec.DecodeError:  # written by an older ingest: count the visit, not zones
            dwell = {}
        for zone_name, ms in dwell.items():
            if ms > 0:
                self.zone_ms[zone_name] += int(ms)
                self.zone_visits[zone_name] += 1

    def figures(self) -> DwellFigures:
        durations = self.durations_ms
        return DwellFigures(
            visits_ended=len(durations),
            avg_dwell_s=sum(durations) / len(durations) / 1000 if durations else None,
            zones={
                name: ZoneDwell(
                    visits=self.zone_visits[name],
                    total_s=self.zone_ms[name] / 1000,
                    avg_s=self.zone_ms[name] / self.zone_visits[name] / 1000,
                )
                for name in sorted(self.zone_ms)
            },
        )


class FittingRoomTally:
    def __init__(self) -> None:
        self.durations_ms: list[int] = []
        self.with_staff = 0
        self.try_ons = 0
        self.room_sessions: Counter[str] = Counter()
        self.room_try_ons: Counter[str] = Counter()

    def add(self, measurement: str, point: Point) -> None:
        room = point.tags.get("zone", "")
        if measurement == "fitting_session":
            self.durations_ms.append(_int(point, "duration_ms"))
            self.with_staff += point.fields.get("staff_present") is True
            self.room_sessions[room] += 1
        elif measurement == "try_on":
            self.try_ons += 1
            self.room_try_ons[room] += 1

    def figures(self) -> FittingRoomFigures:
        durations = self.durations_ms
        rooms = sorted(set(self.room_sessions) | set(self.room_try_ons))
        return FittingRoomFigures(
            sessions=len(durations),
            sessions_with_staff=self.with_staff,
            avg_session_s=sum(durations) / len(durations) / 1000 if durations else None,
            try_ons=self.try_ons,
            rooms={
                room: RoomFigures(
                    sessions=self.room_sessions[room], try_ons=self.room_try_ons[room]
                )
                for room in rooms
            },
        )


class ConversionTally:
    """Try-ons and conversions per GTIN; styles from try-ons, else from `styles`."""

    def __init__(self, styles: Mapping[str, str] | None = None) -> None:
        self.tried: Counter[str] = Counter()
        self.converted: Counter[str] = Counter()
        self.styles: dict[str, str] = dict(styles or {})

    def add(self, measurement: str, point: Point) -> None:
        gtin = point.tags.get("gtin")
        if gtin is None:
            return
        if measurement == "try_on":
            self.tried[gtin] += 1
            style = point.fields.get("style")
            if isinstance(style, str) and style:
                self.styles.setdefault(gtin, style)
        elif measurement == "conversion":
            self.converted[gtin] += 1

    def gtins(self) -> set[str]:
        return set(self.tried) | set(self.converted)

    def figures(self) -> ConversionFigures:
        tried, converted = sum(self.tried.values()), sum(self.converted.values())
        return ConversionFigures(tried=tried, converted=converted, rate=ratio(converted, tried))

    def skus(self) -> list[SkuConversion]:
        rows = [
            SkuConversion(
                gtin=gtin,
                style=self.styles.get(gtin),
                tried=self.tried[gtin],
                converted=self.converted[gtin],
                rate=ratio(self.converted[gtin], self.tried[gtin]),
            )
            for gtin in self.gtins()
        ]
        return sorted(rows, key=lambda row: (-row.tried, -row.converted, row.gtin))

    def by_style(self) -> list[StyleConversion]:
        tried: Counter[str | None] = Counter()
        converted: Counter[str | None] = Counter()
        for gtin in self.gtins():
            style = self.styles.get(gtin)
            tried[style] += self.tried[gtin]
            converted[style] += self.converted[gtin]
        rows = [
            StyleConversion(
                style=style,
                tried=tried[style],
                converted=converted[style],
                rate=ratio(converted[style], tried[style]),
            )
            for style in tried
        ]
        return sorted(rows, key=lambda row: (-row.tried, -row.converted, row.style or "\uffff"))


class RepurchaseTally:
    """Members named at the till, and which of them bought in two or more sales."""

    def __init__(self) -> None:
        self.sales: dict[str, set[tuple[str, str]]] = defaultdict(set)

    def add(self, measurement: str, point: Point) -> None:
        member = point.fields.get("member_id")
        if measurement != "sale_item" or not isinstance(member, str):
            return
        self.sales[member].add((point.tags.get("store", ""), str(point.fields.get("sale_id", ""))))

    def figures(self) -> RepurchaseFigures:
        repeat = sum(1 for sales in self.sales.values() if len(sales) >= 2)
        return RepurchaseFigures(
            members_buying=len(self.sales),
            members_repurchasing=repeat,
            repurchase_rate=ratio(repeat, len(self.sales)),
            member_sales=sum(len(sales) for sales in self.sales.values()),
        )


class AlertTally:
    """Raised, claimed (with time to claim) and outcomes, counting each alert once per
    measurement (a rewritten point is the same alert)."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.raised = self.claimed = 0
        self.claim_ms: list[int] = []
        self.outcomes: Counter[str] = Counter()

    def add(self, measurement: str, point: Point) -> None:
        if measurement not in ALERTS:
            return
        key = (measurement, str(point.fields.get("alert_id", point.ts_ns)))
        if key in self.seen:
            return
        self.seen.add(key)
        if measurement == "alert_raised":
            self.raised += 1
        elif measurement == "alert_claimed":
            self.claimed += 1
            claim_ms = point.fields.get("time_to_claim_ms")
            if isinstance(claim_ms, int | float) and not isinstance(claim_ms, bool):
                self.claim_ms.append(int(claim_ms))
        elif measurement == "alert_outcome":
            self.outcomes[point.tags.get("outcome", "expired")] += 1

    def figures(self) -> AlertFigures:
        claims = self.claim_ms
        return AlertFigures(
            raised=self.raised,
            claimed=self.claimed,
            avg_time_to_claim_s=sum(claims) / len(claims) / 1000 if claims else None,
            median_time_to_claim_s=statistics.median(claims) / 1000 if claims else None,
            served=self.outcomes["served"],
            purchased=self.outcomes["purchased"],
            expired=self.outcomes["expired"],
            outcomes=dict(sorted(self.outcomes.items())),
        )


def alerts_by_type(frame: Frame, points: Points) -> dict[str, AlertFigures]:
    """Alert figures per alert type."""
    tallies: dict[str, AlertTally] = defaultdict(AlertTally)
    for measurement, found in points.items():
        for point in found:
            if frame.place(point) is not None:
                tallies[point.tags.get("type", "?")].add(measurement, point)
    return {kind: tallies[kind].figures() for kind in sorted(tallies)}


def _ms(point: Point, key: str) -> int | None:
    value = point.fields.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def purchased_tasks(points: Points) -> frozenset[str]:
    """Ids of the tasks with a purchase attributed, among `followup_attributed` points (read
    past the period, see PURCHASE_LOOKAHEAD)."""
    return frozenset(
        str(point.fields["task_id"])
        for point in points.get("followup_attributed", ())
        if "task_id" in point.fields
    )


class FollowupTally:
    """Tasks created (per source), completed (per outcome), purchases attributed; each task
    counted once per measurement (a rewritten point is the same task). `purchased`: the ids of
    tasks with a purchase attributed at any time (`purchased_tasks`), for the share of the
    tasks created here that led to one."""

    def __init__(self, purchased: frozenset[str] = frozenset()) -> None:
        self.purchased = purchased
        self.seen: set[tuple[str, str]] = set()
        self.sources: Counter[str] = Counter({source: 0 for source in _SOURCES})
        self.with_purchase = 0
        self.outcomes: Counter[str] = Counter()
        self.complete_ms: list[int] = []
        self.purchases = self.items = 0
        self.amount = 0.0
        self.purchase_ms: list[int] = []

    def add(self, measurement: str, point: Point) -> None:
        if measurement not in FOLLOWUPS + FOLLOWUP_PURCHASES:
            return
        task = str(point.fields.get("task_id", point.ts_ns))
        if (measurement, task) in self.seen:
            return
        self.seen.add((measurement, task))
        if measurement == "followup_created":
            self.sources[point.tags.get("source", "?")] += 1
            self.with_purchase += task in self.purchased
        elif measurement == "followup_outcome":
            outcome = point.tags.get("outcome", "?")
            self.outcomes[outcome] += 1
            took = _ms(point, "time_to_complete_ms")
            if outcome != "cancelled" and took is not None:
                self.complete_ms.append(took)
        else:
            amount = point.fields.get("amount", 0.0)
            self.amount += float(amount) if isinstance(amount, int | float) else 0.0
            self.items += _int(point, "items")
            self.purchases += 1
            took = _ms(point, "time_to_purchase_ms")
            if took is not None:
                self.purchase_ms.append(took)

    def figures(self) -> FollowupFigures:
        created = sum(self.sources.values())
        cancelled = self.outcomes["cancelled"]
        return FollowupFigures(
            created=created,
            created_by_source=dict(sorted(self.sources.items())),
            completed=sum(self.outcomes.values()) - cancelled,
            cancelled=cancelled,
            outcomes=dict(sorted(self.outcomes.items())),
            median_time_to_complete_s=_median_s(self.complete_ms),
            purchases=self.purchases,
            purchase_amount=round(self.amount, 2),
            purchase_items=self.items,
            median_time_to_purchase_s=_median_s(self.purchase_ms),
            tasks_with_purchase=self.with_purchase,
            purchase_share=ratio(self.with_purchase, created),
        )


def _median_s(values_ms: Sequence[int]) -> float | None:
    return statistics.median(values_ms) / 1000 if values_ms else None
