"""Alert outcomes as time series, and the report that counts them per alert type.

- `alert_raised` (tags store, type; fields alert_id, rule, quiet): an alert is raised.
- `alert_claimed` (tags store, type; fields alert_id, staff, time_to_claim_ms, escalated).
- `alert_outcome` (tags store, type, outcome: one of OUTCOMES or `expired`; fields alert_id,
  staff, time_to_claim_ms, time_to_resolve_ms, escalated): resolved, or expired unclaimed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from rules.lifecycle.machine import raised_ms
from storesense.backends.timeseries.base import FieldValue, Point
from storesense.protocol.alerts import OUTCOMES, Alert

MEASUREMENTS = ("alert_raised", "alert_claimed", "alert_outcome")


class PointSubmitter(Protocol):
    def submit(self, points: Sequence[Point]) -> None: ...


class PointQuery(Protocol):
    async def query(
        self,
        measurement: str,
        *,
        start_ns: int,
        end_ns: int,
        tags: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Point]: ...


def _ts_ns(ms: int, alert: Alert) -> int:
    # A stable sub-millisecond offset from the id: two alerts of one type raised in the
    # same millisecond are two points, and a rewritten point overwrites itself.
    try:
        offset = int(alert.id[-6:], 16) % 1_000_000
    except ValueError:
        offset = 0
    return ms * 1_000_000 + offset


def raised_point(alert: Alert) -> Point:
    return Point(
        "alert_raised",
        {"store": alert.store, "type": alert.type},
        {"alert_id": alert.id, "rule": alert.rule or alert.type, "quiet": alert.quiet},
        _ts_ns(raised_ms(alert), alert),
    )


def claimed_point(alert: Alert) -> Point:
    claimed = alert.claimed or alert.updated
    return Point(
        "alert_claimed",
        {"store": alert.store, "type": alert.type},
        {
            "alert_id": alert.id,
            "staff": alert.claimed_by or "",
            "time_to_claim_ms": claimed - raised_ms(alert),
            "escalated": alert.escalated is not None,
        },
        _ts_ns(claimed, alert),
    )


def outcome_point(alert: Alert) -> Point:
    """For a resolved or expired alert."""
    ended = alert.resolved or alert.expired or alert.updated
    fields: dict[str, FieldValue] = {
        "alert_id": alert.id,
        "escalated": alert.escalated is not None,
        "time_to_resolve_ms": ended - raised_ms(alert),
    }
    if alert.resolved_by:
        fields["staff"] = alert.resolved_by
    if alert.claimed is not None:
        fields["time_to_claim_ms"] = alert.claimed - raised_ms(alert)
    outcome = alert.outcome if alert.state == "resolved" and alert.outcome else "expired"
    return Point(
        "alert_outcome",
        {"store": alert.store, "type": alert.type, "outcome": outcome},
        fields,
        _ts_ns(ended, alert),
    )


def empty_counts() -> dict[str, int]:
    return {"raised": 0, "claimed": 0, **{o: 0 for o in OUTCOMES}, "expired": 0}


async def outcome_report(
    series: PointQuery, store: str | None, start_ns: int, end_ns: int
) -> dict[str, dict[str, int]]:
    """Per alert type: raised, claimed, and each outcome (`expired` included), counted in
    [start, end). Counts each alert once per measurement (rewritten points overwrite)."""
    tags = {"store": store} if store else None
    report: dict[str, dict[str, int]] = {}
    for measurement in MEASUREMENTS:
        points = await series.query(measurement, start_ns=start_ns, end_ns=end_ns, tags=tags)
        seen: set[tuple[str, str]] = set()
        for point in points:
            alert_type = point.tags.get("type", "?")
            key = (str(point.fields.get("alert_id", "")), measurement)
            if key in seen:
                continue
            seen.add(key)
            counts = report.setdefault(alert_type, empty_counts())
            if measurement == "alert_raised":
                counts["raised"] += 1
            elif measurement == "alert_claimed":
                counts["claimed"] += 1
            else:
                outcome = point.tags.get("outcome", "expired")
                counts[outcome] = counts.get(outcome, 0) + 1
    return dict(sorted(report.items()))
