"""Compare what the service stored with the simulator's ground truth."""

from __future__ import annotations

from collections import Counter

from simulators.truth import GroundTruth
from storesense.backends.timeseries.base import Point, TimeSeriesStore


def expected_member_visits(truth: GroundTruth) -> Counter[str]:
    """Visits the service can recognise: consenting members seen by their app, or named at
    the till by card or phone."""
    return Counter(
        party.member_id
        for party in truth.parties
        if party.member_id and party.consent and (party.has_app or party.member_ref)
    )


async def points(ts: TimeSeriesStore, measurement: str) -> list[Point]:
    return await ts.query(measurement, start_ns=0, end_ns=2**62)


async def assert_matches_truth(ts: TimeSeriesStore, truth: GroundTruth) -> None:
    doors = await points(ts, "door_crossing")
    ins = [p for p in doors if p.tags["direction"] == "in"]
    outs = [p for p in doors if p.tags["direction"] == "out"]
    assert sum(int(p.fields["count"]) for p in ins) == truth.footfall_in
    assert sum(int(p.fields["count"]) for p in outs) == truth.footfall_out
    assert len(ins) == truth.visits
    visit_starts = await points(ts, "visit_start")
    assert Counter(str(p.fields["member_id"]) for p in visit_starts) == expected_member_visits(
        truth
    )
    try_ons = await points(ts, "try_on")
    assert Counter(p.tags["gtin"] for p in try_ons) == Counter(truth.try_ons)
    conversions = await points(ts, "conversion")
    assert Counter(p.tags["gtin"] for p in conversions) == Counter(truth.conversions)
    sold: Counter[str] = Counter()
    for p in await points(ts, "sale_item"):
        sold[p.tags["gtin"]] += int(p.fields["qty"])
    assert sold == Counter(truth.items_sold)
    assert len(await points(ts, "pos_sale")) == truth.sales
