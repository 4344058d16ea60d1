"""Analytics per store, region or organisation and period: footfall, visits, dwell, fitting
rooms, conversion, repurchase, alert outcomes, follow-up tasks (`api/analytics/`).

Every endpoint takes the same query: `store` (repeatable) or `region` (neither: the whole
organisation), `from`/`to` (a date or a datetime; without an offset, in each store's own
timezone; default today) and `bucket` (hour, day, week). A bad parameter is a 422 whose
`loc` names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import StringConstraints

from api.analytics import figures, source
from api.analytics.models import (
    AlertReport,
    Bucket,
    ConversionReport,
    DwellReport,
    FittingRoomReport,
    FollowupReport,
    Overview,
    PeriodInfo,
    RepurchaseReport,
    ScopeInfo,
    TrafficReport,
)
from api.analytics.periods import Bound, BucketSize, PeriodError, label, make_period
from api.auth.roles import Principal
from api.context import ApiContext, get_context
from rules.lifecycle.outcomes import PointQuery
from storesense.backends.timeseries.base import Point, QueryFailed
from storesense.errors import BackendUnavailable
from storesense.protocol.identifiers import IDENTIFIER_PATTERN

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

MAX_STORES = 500
StoreId = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
StoresParam = Annotated[
    list[StoreId] | None,
    Query(
        alias="store",
        max_length=MAX_STORES,
        description="a store id; repeat for several (`store=a&store=b`)",
    ),
]
RegionParam = Annotated[
    str | None,
    Query(pattern=IDENTIFIER_PATTERN, description="every store of this region (registry)"),
]
BoundDescription = (
    "a date (local midnight) or an RFC 3339 datetime; without an offset it is read in each "
    "store's timezone"
)
FromParam = Annotated[
    datetime | date | None, Query(alias="from", description=f"{BoundDescription}; default today")
]
ToParam = Annotated[
    datetime | date | None,
    Query(
        alias="to",
        description=f"{BoundDescription}, exclusive; default a day after `from` (a week for "
        "week buckets)",
    ),
]
BucketParam = Annotated[BucketSize, Query(description="bucket size, in local time")]


def _invalid(field: str, message: str) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors."""
    return HTTPException(
        422, [{"loc": ["query", field], "msg": message, "type": "value_error", "input": None}]
    )


@dataclass(frozen=True)
class AnalyticsQuery:
    """A validated request: where, when, and the frame that places points."""

    scope: ScopeInfo
    period: PeriodInfo
    frame: figures.Frame
    stores: frozenset[str] | None  # None: every store
    timezone: tzinfo | None  # the stores' one timezone, if they share one
    series: PointQuery
    context: ApiContext

    async def points(
        self, measurements: Iterable[str], *, later: timedelta = timedelta(0)
    ) -> dict[str, list[Point]]:
        """Points over the period (and `later` past its end)."""
        try:
            return await source.fetch(
                self.series, measurements, self.frame.period, self.stores, later=later
            )
        except BackendUnavailable as exc:
            raise HTTPException(503, f"time-series store unavailable: {exc}") from None
        except QueryFailed as exc:
            raise HTTPException(502, f"time-series query failed: {exc}") from None


async def analytics_query(
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    stores: StoresParam = None,
    region: RegionParam = None,
    start: FromParam = None,
    end: ToParam = None,
    bucket: BucketParam = "hour",
) -> AnalyticsQuery:
    """Validate the common parameters and resolve the scope to stores and timezones.
    (Authorisation narrows the scope here: a caller sees the stores it may see.)"""
    series: PointQuery | None = request.app.state.outcome_series
    if series is None:
        raise HTTPException(503, "no time-series store configured")
    if stores and region:
        raise _invalid("region", "give `store` or `region`, not both")
    wanted: frozenset[str] | None = frozenset(stores) if stores else None
    if region is not None:
        try:
            wanted = frozenset(await source.region_stores(context.state, region))
        except source.UnknownRegion:
            raise _invalid("region", f"no region {region!r} in the registry") from None
    wanted = _visible(request, wanted)
    try:
        zones = await source.timezones(context.state, context.settings, wanted)
    except ValueError as exc:  # a timezone in `[stores.x]` settings the registry never checked
        raise HTTPException(500, f"store settings: {exc}") from None
    timezone = _single_timezone(zones.values(), whole=wanted is None)
    today = datetime.now(timezone or UTC).date()
    try:
        period = make_period(start, end, bucket, today=today)
    except PeriodError as exc:
        raise _invalid(exc.field, exc.message) from None
    return AnalyticsQuery(
        scope=ScopeInfo(stores=sorted(wanted) if wanted is not None else None, region=region),
        period=PeriodInfo(
            start=_iso(period.start),
            end=_iso(period.end),
            bucket=bucket,
            timezone=getattr(timezone, "key", None) if timezone is not None else None,
        ),
        frame=figures.Frame(period, lambda store: zones.get(store, UTC), wanted),
        stores=wanted,
        timezone=timezone,
        series=series,
        context=context,
    )


Query_ = Annotated[AnalyticsQuery, Depends(analytics_query)]


def _visible(request: Request, wanted: frozenset[str] | None) -> frozenset[str] | None:
    """The scope as the caller may see it: their stores for the whole organisation, 403 for
    any store of theirs not (the guard checks one `store`; this checks every one)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None or principal.everywhere:
        return wanted
    if wanted is None:
        return frozenset(principal.stores or ())
    denied = sorted(store for store in wanted if not principal.may_see(store))
    if denied:
        raise HTTPException(403, f"no access to store {', '.join(denied)}")
    return wanted


def _single_timezone(zones: Iterable[tzinfo], *, whole: bool) -> tzinfo | None:
    """The one timezone of the scope's stores, or None when they have several (or, for the
    whole organisation, when stores outside the registry may be reckoned in UTC)."""
    distinct = {getattr(tz, "key", str(tz)): tz for tz in zones}
    if whole and distinct and set(distinct) != {"UTC"}:
        return None
    if not distinct:
        return UTC
    return next(iter(distinct.values())) if len(distinct) == 1 else None


def _iso(bound: Bound) -> str:
    return bound.isoformat()


R = TypeVar("R", TrafficReport, DwellReport, FittingRoomReport, FollowupReport)
T = TypeVar("T")


def _report(report: type[R], query: AnalyticsQuery, result: figures.Bucketed[Any]) -> R:
    return report(
        scope=query.scope,
        period=query.period,
        totals=result.totals,
        buckets=[
            Bucket(start=label(start, query.timezone), figures=value)
            for start, value in result.buckets
        ],
        stores=result.stores,
    )


async def _bucketed(
    query: AnalyticsQuery, measurements: Iterable[str], new: Callable[[], figures.Tally[T]]
) -> figures.Bucketed[T]:
    return figures.bucketed(query.frame, await query.points(measurements), new)


@router.get(
    "/traffic",
    summary="Footfall in/out, visits, member share, sales conversion",
    response_model=TrafficReport,
)
async def traffic(query: Query_) -> TrafficReport:
    result = await _bucketed(query, figures.TRAFFIC, figures.TrafficTally)
    return _report(TrafficReport, query, result)


@router.get(
    "/dwell",
    summary="Average visit length and time per zone (recognised members' visits)",
    response_model=DwellReport,
)
async def dwell(query: Query_) -> DwellReport:
    result = await _bucketed(query, figures.DWELL, figures.DwellTally)
    return _report(DwellReport, query, result)


@router.get(
    "/fitting-rooms",
    summary="Fitting-room sessions and try-ons",
    response_model=FittingRoomReport,
)
async def fitting_rooms(query: Query_) -> FittingRoomReport:
    result = await _bucketed(query, figures.FITTING_ROOMS, figures.FittingRoomTally)
    return _report(FittingRoomReport, query, result)


async def _conversion(query: AnalyticsQuery) -> figures.ConversionTally:
    tally = figures.ConversionTally()
    figures.totals(query.frame, await query.points(figures.CONVERSION), tally)
    unnamed = {gtin for gtin in tally.gtins() if gtin not in tally.styles}
    if unnamed:
        tally.styles.update(await source.catalog_styles(query.context.state, unnamed))
    return tally


@router.get(
    "/conversion",
    summary="Try-on → purchase conversion per SKU (GTIN) and per style",
    response_model=ConversionReport,
)
async def conversion(query: Query_) -> ConversionReport:
    tally = await _conversion(query)
    return ConversionReport(
        scope=query.scope,
        period=query.period,
        totals=tally.figures(),
        skus=tally.skus(),
        styles=tally.by_style(),
    )


@router.get(
    "/repurchase",
    summary="Members who bought in the period, and who bought again (two or more sales)",
    response_model=RepurchaseReport,
)
async def repurchase(query: Query_) -> RepurchaseReport:
    result = await _bucketed(query, figures.REPURCHASE, figures.RepurchaseTally)
    return RepurchaseReport(
        scope=query.scope, period=query.period, totals=result.totals, stores=result.stores
    )


@router.get(
    "/alerts",
    summary="Alerts raised and claimed, time to claim, outcomes (served, purchased, …)",
    response_model=AlertReport,
)
async def alerts(query: Query_) -> AlertReport:
    points = await query.points(figures.ALERTS)
    return AlertReport(
        scope=query.scope,
        period=query.period,
        totals=figures.totals(query.frame, points, figures.AlertTally()),
        types=figures.alerts_by_type(query.frame, points),
    )


async def _followup_points(query: AnalyticsQuery) -> dict[str, list[Point]]:
    """Tasks' points over the period, and purchases until the last window of a task created
    in it can end (for the share of those tasks that led to a purchase)."""
    points = await query.points(figures.FOLLOWUPS)
    points.update(await query.points(figures.FOLLOWUP_PURCHASES, later=figures.PURCHASE_LOOKAHEAD))
    return points


@router.get(
    "/followups",
    summary="Follow-up tasks created and completed, purchases attributed to them",
    response_model=FollowupReport,
)
async def followups(query: Query_) -> FollowupReport:
    points = await _followup_points(query)
    purchased = figures.purchased_tasks(points)
    result = figures.bucketed(query.frame, points, lambda: figures.FollowupTally(purchased))
    return _report(FollowupReport, query, result)


@router.get(
    "/overview",
    summary="Every figure over the whole period: a manager's day at a glance",
    response_model=Overview,
)
async def overview(query: Query_) -> Overview:
    points = await query.points(
        figures.TRAFFIC + figures.DWELL + figures.FITTING_ROOMS + figures.CONVERSION
        + figures.REPURCHASE + figures.ALERTS
    )  # fmt: skip
    points.update(await _followup_points(query))
    frame = query.frame
    return Overview(
        scope=query.scope,
        period=query.period,
        traffic=figures.totals(frame, points, figures.TrafficTally()),
        dwell=figures.totals(frame, points, figures.DwellTally()),
        fitting_rooms=figures.totals(frame, points, figures.FittingRoomTally()),
        conversion=figures.totals(frame, points, figures.ConversionTally()),
        repurchase=figures.totals(frame, points, figures.RepurchaseTally()),
        alerts=figures.totals(frame, points, figures.AlertTally()),
        followups=figures.totals(
            frame, points, figures.FollowupTally(figures.purchased_tasks(points))
        ),
    )
