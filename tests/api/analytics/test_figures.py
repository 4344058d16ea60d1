"""Aggregating stored points into analytics figures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from api.analytics import figures
from api.analytics.periods import BucketSize, make_period, to_ns, zone
from storesense.backends.timeseries.base import Point

SHANGHAI, PARIS = zone("Asia/Shanghai"), zone("Europe/Paris")
ZONES = {"sh": SHANGHAI, "pa": PARIS}
DAY = date(2026, 11, 26)
_ids = iter(range(10**6))


def at(text: str) -> int:
    """Epoch ns of a UTC wall time, plus a distinct sub-ms offset (like stored points)."""
    return to_ns(datetime.fromisoformat(text).replace(tzinfo=UTC), UTC) + next(_ids)


def point(measurement: str, ts: str, store: str = "sh", **values: Any) -> Point:
    tags = {
        k: str(v)
        for k, v in values.items()
        if k in ("direction", "zone", "gtin", "type", "outcome", "source")
    }
    fields = {k: v for k, v in values.items() if k not in tags} or {"id": "x"}
    return Point(measurement, {"store": store, **tags}, fields, at(ts))


def frame(bucket: BucketSize = "hour", stores: set[str] | None = None) -> figures.Frame:
    period = make_period(DAY, None, bucket, today=DAY)
    return figures.Frame(
        period, lambda store: ZONES.get(store, UTC), frozenset(stores) if stores else None
    )


def group(points: list[Point]) -> dict[str, list[Point]]:
    grouped: dict[str, list[Point]] = {}
    for p in points:
        grouped.setdefault(p.measurement, []).append(p)
    return grouped


def test_traffic_counts_people_parties_members_and_sales() -> None:
    found = group([
        point("door_crossing", "2026-11-26T02:10", direction="in", count=2),
        point("door_crossing", "2026-11-26T02:20", direction="in", count=1),
        point("door_crossing", "2026-11-26T02:50", direction="out", count=2),
        point("visit_start", "2026-11-26T02:21", member_id="m1", source="app"),
        point("pos_sale", "2026-11-26T02:40", sale_id="s1"),
        point("pos_sale", "2026-11-26T02:41", sale_id="s1"),  # the same sale, stored again
    ])  # fmt: skip
    result = figures.bucketed(frame(), found, figures.TrafficTally)
    totals = result.totals
    assert (totals.footfall_in, totals.footfall_out, totals.visits) == (3, 2, 2)
    assert (totals.member_visits, totals.member_share) == (1, 0.5)
    assert (totals.visits_with_sale, totals.sales_conversion) == (1, 0.5)
    # 02:10 UTC is 10:10 in Shanghai: one local hour holds everything; all 24 are listed.
    assert len(result.buckets) == 24
    busy = [(start, f) for start, f in result.buckets if f.visits]
    assert [start for start, _ in busy] == [datetime(2026, 11, 26, 10)]
    assert result.stores == {"sh": totals}


def test_each_store_counts_its_own_local_day() -> None:
    found = group([
        # Shanghai's 26 November is 25 Nov 16:00 - 26 Nov 16:00 UTC; Paris' 25 Nov 23:00 on.
        point("door_crossing", "2026-11-25T17:00", "sh", direction="in", count=1),
        point("door_crossing", "2026-11-26T17:00", "sh", direction="in", count=1),  # 27th there
        point("door_crossing", "2026-11-25T17:00", "pa", direction="in", count=1),  # 25th there
        point("door_crossing", "2026-11-26T17:00", "pa", direction="in", count=1),
    ])  # fmt: skip
    result = figures.bucketed(frame("day"), found, figures.TrafficTally)
    assert {store: f.visits for store, f in result.stores.items()} == {"pa": 1, "sh": 1}
    assert [(start, f.visits) for start, f in result.buckets] == [(datetime(2026, 11, 26), 2)]


def test_stores_out_of_scope_are_left_out_and_scope_stores_always_listed() -> None:
    found = group([point("door_crossing", "2026-11-26T03:00", "pa", direction="in", count=1)])
    result = figures.bucketed(frame("day", {"sh", "zz"}), found, figures.TrafficTally)
    assert result.totals.visits == 0 and result.totals.member_share is None
    assert sorted(result.stores) == ["sh", "zz"]


def test_dwell_averages_member_visits_and_zones() -> None:
    found = group([
        point("visit_end", "2026-11-26T03:00", member_id="m1", duration_ms=600_000,
              dwell='{"floor": 400000, "fitting-room-1": 200000}'),
        point("visit_end", "2026-11-26T04:00", member_id="m2", duration_ms=1_200_000,
              dwell='{"floor": 1200000}'),
        point("visit_end", "2026-11-26T05:00", member_id="m3", duration_ms=0, dwell="not json"),
    ])  # fmt: skip
    totals = figures.totals(frame(), found, figures.DwellTally())
    assert totals.visits_ended == 3 and totals.avg_dwell_s == pytest.approx(600)
    assert totals.zones["floor"].model_dump() == {"visits": 2, "total_s": 1600, "avg_s": 800}
    assert totals.zones["fitting-room-1"].visits == 1


def test_fitting_rooms_count_sessions_staff_and_try_ons_per_room() -> None:
    found = group([
        point("fitting_session", "2026-11-26T03:00", zone="fitting-room-1", duration_ms=300_000,
              staff_present=True, items=2),
        point("fitting_session", "2026-11-26T03:30", zone="fitting-room-2", duration_ms=100_000,
              staff_present=False, items=1),
        point("try_on", "2026-11-26T03:01", zone="fitting-room-1", gtin="1", epc="a"),
        point("try_on", "2026-11-26T03:02", zone="fitting-room-1", gtin="2", epc="b"),
        point("try_on", "2026-11-26T03:31", zone="fitting-room-2", gtin="1", epc="c"),
    ])  # fmt: skip
    totals = figures.totals(frame(), found, figures.FittingRoomTally())
    assert (totals.sessions, totals.sessions_with_staff, totals.try_ons) == (2, 1, 3)
    assert totals.avg_session_s == 200
    assert totals.rooms["fitting-room-1"].model_dump() == {"sessions": 1, "try_ons": 2}


def test_conversion_per_sku_and_style_with_catalog_styles() -> None:
    found = group([
        point("try_on", "2026-11-26T03:00", gtin="g1", epc="a", style="COAT"),
        point("try_on", "2026-11-26T03:00", gtin="g1", epc="b", style="COAT"),
        point("try_on", "2026-11-26T03:00", gtin="g2", epc="c"),
        point("try_on", "2026-11-26T03:00", gtin="g3", epc="d"),
        point("conversion", "2026-11-26T03:30", gtin="g1", epc="a", sale_id="s1"),
        point("conversion", "2026-11-26T03:30", gtin="g2", epc="c", sale_id="s1"),
    ])  # fmt: skip
    tally = figures.ConversionTally({"g2": "COAT"})
    assert figures.totals(frame(), found, tally).model_dump() == {
        "tried": 4, "converted": 2, "rate": 0.5,
    }  # fmt: skip
    skus = {row.gtin: (row.style, row.tried, row.converted, row.rate) for row in tally.skus()}
    assert skus == {"g1": ("COAT", 2, 1, 0.5), "g2": ("COAT", 1, 1, 1.0), "g3": (None, 1, 0, 0.0)}
    styles = [(row.style, row.tried, row.converted) for row in tally.by_style()]
    assert styles == [("COAT", 3, 2), (None, 1, 0)]


def test_repurchase_counts_members_with_two_or_more_sales() -> None:
    found = group([
        point("sale_item", "2026-11-26T03:00", gtin="g1", sale_id="s1", member_id="m1"),
        point("sale_item", "2026-11-26T03:00", gtin="g2", sale_id="s1", member_id="m1"),
        point("sale_item", "2026-11-26T05:00", gtin="g1", sale_id="s2", member_id="m1"),
        point("sale_item", "2026-11-26T05:00", gtin="g1", sale_id="s3", member_id="m2"),
        point("sale_item", "2026-11-26T05:00", gtin="g1", sale_id="s4"),  # anonymous
    ])  # fmt: skip
    totals = figures.totals(frame(), found, figures.RepurchaseTally())
    assert totals.model_dump() == {
        "members_buying": 2, "members_repurchasing": 1, "repurchase_rate": 0.5, "member_sales": 3,
    }  # fmt: skip


def test_alerts_count_each_alert_once_with_time_to_claim_and_outcomes() -> None:
    arrived = {"type": "member.arrived"}
    found = group([
        point("alert_raised", "2026-11-26T03:00", alert_id="a1", **arrived),
        point("alert_raised", "2026-11-26T03:00", alert_id="a1", **arrived),  # rewritten
        point("alert_raised", "2026-11-26T03:05", alert_id="a2", **arrived),
        point("alert_raised", "2026-11-26T03:06", alert_id="a3", type="fitting_room.help"),
        point("alert_claimed", "2026-11-26T03:01", alert_id="a1", time_to_claim_ms=60_000, **arrived),
        point("alert_claimed", "2026-11-26T03:06", alert_id="a2", time_to_claim_ms=30_000, **arrived),
        point("alert_outcome", "2026-11-26T03:09", alert_id="a1", outcome="purchased", **arrived),
        point("alert_outcome", "2026-11-26T03:09", alert_id="a2", outcome="served", **arrived),
        point("alert_outcome", "2026-11-26T03:20", alert_id="a3", outcome="expired",
              type="fitting_room.help"),
    ])  # fmt: skip
    totals = figures.totals(frame(), found, figures.AlertTally())
    assert (totals.raised, totals.claimed, totals.served, totals.purchased) == (3, 2, 1, 1)
    assert totals.avg_time_to_claim_s == 45 and totals.median_time_to_claim_s == 45
    assert totals.expired == 1
    assert totals.outcomes == {"expired": 1, "purchased": 1, "served": 1}
    by_type = figures.alerts_by_type(frame(), found)
    assert by_type["member.arrived"].raised == 2 and by_type["fitting_room.help"].expired == 1


def test_followups_count_tasks_outcomes_and_purchases_and_follow_tasks_to_a_purchase() -> None:
    hour = 3_600_000
    found = group([
        # Shanghai's 26 November is 25 Nov 16:00 - 26 Nov 16:00 UTC.
        point("followup_created", "2026-11-25T10:00", task_id="t0", source="user", items=1),
        point("followup_created", "2026-11-26T03:00", task_id="t1", source="user", items=1),
        point("followup_created", "2026-11-26T03:00", task_id="t1", source="user", items=1),
        point("followup_created", "2026-11-26T04:00", task_id="t2", source="rule", items=2),
        point("followup_created", "2026-11-26T05:00", task_id="t3", source="rule", items=0),
        point("followup_created", "2026-11-26T05:00", "pa", task_id="p1", source="user"),
        point("followup_outcome", "2026-11-26T06:00", task_id="t1", outcome="contacted",
              source="user", time_to_complete_ms=3 * hour),
        point("followup_outcome", "2026-11-26T06:30", task_id="t2", outcome="purchased",
              source="rule", time_to_complete_ms=int(2.5 * hour)),
        point("followup_outcome", "2026-11-26T07:00", task_id="t3", outcome="cancelled",
              source="rule", time_to_complete_ms=2 * hour),
        # t0 (created the day before) bought today; t2 bought an hour after its creation;
        # t1 buys two days later: a purchase of that day, but t1 led to one.
        point("followup_attributed", "2026-11-26T08:00", task_id="t0", outcome="open",
              source="user", sale_id="s0", amount=99.0, items=1, time_to_purchase_ms=22 * hour),
        point("followup_attributed", "2026-11-26T05:00", task_id="t2", outcome="open",
              source="rule", sale_id="s2", amount=150.5, items=2, time_to_purchase_ms=hour),
        point("followup_attributed", "2026-11-28T02:00", task_id="t1", outcome="contacted",
              source="user", sale_id="s1", amount=10.0, items=1, time_to_purchase_ms=47 * hour),
    ])  # fmt: skip
    purchased = figures.purchased_tasks(found)
    assert purchased == {"t0", "t1", "t2"}
    result = figures.bucketed(frame(stores={"sh"}), found, lambda: figures.FollowupTally(purchased))
    assert result.totals.model_dump() == {
        "created": 3, "created_by_source": {"rule": 2, "user": 1},
        "completed": 2, "cancelled": 1,
        "outcomes": {"cancelled": 1, "contacted": 1, "purchased": 1},
        "median_time_to_complete_s": 2.75 * 3600,
        "purchases": 2, "purchase_amount": 249.5, "purchase_items": 3,
        "median_time_to_purchase_s": 11.5 * 3600,
        "tasks_with_purchase": 2, "purchase_share": pytest.approx(2 / 3),
    }  # fmt: skip
    # Tasks in the local hour they were created, purchases in the hour of the sale.
    by_hour = {
        start.hour: (f.created, f.tasks_with_purchase, f.purchases)
        for start, f in result.buckets
        if f.created or f.purchases
    }
    assert by_hour == {11: (1, 1, 0), 12: (1, 1, 0), 13: (1, 0, 1), 16: (0, 0, 1)}
    assert list(result.stores) == ["sh"]
    both = figures.totals(frame(), found, figures.FollowupTally(purchased))
    assert (both.created, both.created_by_source["user"], both.purchase_share) == (4, 2, 0.5)


def test_empty_figures_have_no_rates() -> None:
    assert figures.TrafficTally().figures().sales_conversion is None
    assert figures.DwellTally().figures().avg_dwell_s is None
    assert figures.AlertTally().figures().median_time_to_claim_s is None
    assert figures.RepurchaseTally().figures().repurchase_rate is None
    empty = figures.FollowupTally().figures()
    assert empty.purchase_share is None and empty.median_time_to_purchase_s is None
    assert empty.created_by_source == {"rule": 0, "user": 0} and empty.outcomes == {}
