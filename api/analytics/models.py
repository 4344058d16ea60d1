"""Response models of the analytics endpoints (documented in the OpenAPI schema).

Rates are fractions (0.25 is 25 %), `null` when their denominator is zero; durations are
seconds. Buckets are keyed by their local start (see `periods`).
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from api.analytics.periods import BucketSize

F = TypeVar("F", bound=BaseModel)


class ScopeInfo(BaseModel):
    stores: list[str] | None = Field(
        description="the stores asked for; null: every store (the organisation)"
    )
    region: str | None = None


class PeriodInfo(BaseModel):
    start: str = Field(description="`from` as given (a date or a datetime)")
    end: str = Field(description="`to` as given; the period is [from, to)")
    bucket: BucketSize
    timezone: str | None = Field(
        description="the stores' timezone, in which buckets are reckoned; null when the stores "
        "have several (buckets are then each store's local wall time)"
    )


class TrafficFigures(BaseModel):
    footfall_in: int = Field(description="people in through the door (door counts)")
    footfall_out: int = Field(description="people out through the door")
    visits: int = Field(description="parties in through the door (one door event per party)")
    member_visits: int = Field(description="visits of recognised, consenting members")
    member_share: float | None = Field(description="member_visits / visits")
    visits_with_sale: int = Field(description="distinct sales at the till")
    sales_conversion: float | None = Field(description="visits_with_sale / visits")


class ZoneDwell(BaseModel):
    visits: int = Field(description="ended member visits that spent time in the zone")
    total_s: float
    avg_s: float = Field(description="total_s / visits")


class DwellFigures(BaseModel):
    visits_ended: int = Field(description="member visits that ended (the only ones followed)")
    avg_dwell_s: float | None = Field(description="mean length of those visits")
    zones: dict[str, ZoneDwell] = Field(description="time spent per zone")


class RoomFigures(BaseModel):
    sessions: int
    try_ons: int


class FittingRoomFigures(BaseModel):
    sessions: int = Field(description="fitting-room sessions that started")
    sessions_with_staff: int = Field(description="of those, with a staff badge seen in the room")
    avg_session_s: float | None
    try_ons: int = Field(description="garments carried into a fitting room, once per session")
    rooms: dict[str, RoomFigures]


class Bucket(BaseModel, Generic[F]):
    start: str = Field(description="local start of the bucket, ISO 8601")
    figures: F


class BucketedReport(BaseModel, Generic[F]):
    scope: ScopeInfo
    period: PeriodInfo
    totals: F = Field(description="over the whole period and every store of the scope")
    buckets: list[Bucket[F]]
    stores: dict[str, F] = Field(description="totals per store")


class TrafficReport(BucketedReport[TrafficFigures]):
    pass


class DwellReport(BucketedReport[DwellFigures]):
    pass


class FittingRoomReport(BucketedReport[FittingRoomFigures]):
    pass


class ConversionFigures(BaseModel):
    tried: int = Field(description="try-ons in the period")
    converted: int = Field(description="garments sold in the period after their try-on")
    rate: float | None = Field(description="converted / tried")


class SkuConversion(ConversionFigures):
    gtin: str
    style: str | None = Field(description="from the product catalog; null when unknown")


class StyleConversion(ConversionFigures):
    style: str | None


class ConversionReport(BaseModel):
    scope: ScopeInfo
    period: PeriodInfo
    totals: ConversionFigures
    skus: list[SkuConversion] = Field(description="per GTIN, most tried first")
    styles: list[StyleConversion] = Field(description="per style, most tried first")


class RepurchaseFigures(BaseModel):
    members_buying: int = Field(description="members named at the till in the period")
    members_repurchasing: int = Field(description="of those, with two or more sales")
    repurchase_rate: float | None = Field(description="members_repurchasing / members_buying")
    member_sales: int = Field(description="sales naming a member")


class RepurchaseReport(BaseModel):
    scope: ScopeInfo
    period: PeriodInfo
    totals: RepurchaseFigures
    stores: dict[str, RepurchaseFigures] = Field(
        description="per store: a member buying in two stores repurchases across the scope "
        "but in neither store alone"
    )


class AlertFigures(BaseModel):
    raised: int
    claimed: int
    avg_time_to_claim_s: float | None
    median_time_to_claim_s: float | None
    served: int
    purchased: int
    expired: int = Field(description="closed unclaimed")
    outcomes: dict[str, int] = Field(description="resolved alerts per outcome, and `expired`")


class AlertReport(BaseModel):
    scope: ScopeInfo
    period: PeriodInfo
    totals: AlertFigures
    types: dict[str, AlertFigures] = Field(description="per alert type")


class FollowupFigures(BaseModel):
    """Follow-up tasks (README "Registry and follow-up tasks"): each count at its own event
    (creation, completion, the sale), except `tasks_with_purchase`, which follows the tasks
    created in the period to their purchases, however much later."""

    created: int = Field(description="tasks created")
    created_by_source: dict[str, int] = Field(
        description="tasks created per source: `rule` (suggested after a visit) or `user`"
    )
    completed: int = Field(description="tasks completed with an outcome")
    cancelled: int
    outcomes: dict[str, int] = Field(description="completed tasks per outcome, and `cancelled`")
    median_time_to_complete_s: float | None = Field(
        description="from creation to completion, over the tasks completed"
    )
    purchases: int = Field(
        description="purchases attributed to a task (a sale by its member in its store within "
        "its window), counted at the sale"
    )
    purchase_amount: float = Field(
        description="their amount, in each store's currency (add up one currency only)"
    )
    purchase_items: int = Field(description="garments in those purchases")
    median_time_to_purchase_s: float | None = Field(
        description="from the task's creation to the sale, over those purchases"
    )
    tasks_with_purchase: int = Field(
        description="of the tasks created, those with a purchase attributed so far (their "
        "window may end after the period)"
    )
    purchase_share: float | None = Field(description="tasks_with_purchase / created")


class FollowupReport(BucketedReport[FollowupFigures]):
    pass


class Overview(BaseModel):
    """Every figure over the whole period (a manager's day at a glance)."""

    scope: ScopeInfo
    period: PeriodInfo
    traffic: TrafficFigures
    dwell: DwellFigures
    fitting_rooms: FittingRoomFigures
    conversion: ConversionFigures
    repurchase: RepurchaseFigures
    alerts: AlertFigures
    followups: FollowupFigures
