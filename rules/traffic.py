"""`traffic.surge`: entries in the last window well above the usual for this hour and
weekday, and more than the staff on shift can greet."""

from __future__ import annotations

from rules.drafts import AlertDraft
from rules.params import TrafficSurgeRule
from rules.views import TrafficView


def surge(
    store: str, traffic: TrafficView, params: TrafficSurgeRule, hour_ms: int, hour: str
) -> AlertDraft | None:
    """At most one per store and hour (`hour`: YYYY-MM-DDTHH in store time, starting at
    `hour_ms`: the alert is dated there, so the hour's re-evaluations are one situation)."""
    if not params.enabled or traffic.entries < params.min_entries:
        return None
    usual = traffic.usual if traffic.history_days >= params.min_history_days else None
    usual = usual if usual is not None else params.baseline_per_window
    if usual is None or traffic.entries < params.factor * usual:
        return None
    staff = traffic.staff_on_shift
    if staff > 0 and traffic.entries / staff < params.entries_per_staff:
        return None
    return AlertDraft(
        type="traffic.surge",
        store=store,
        ts_ms=hour_ms,
        zone="entrance",
        facts={
            "entries": traffic.entries,
            "usual": round(usual, 1),
            "window_min": params.window_min,
            "staff_on_shift": staff,
        },
        rule="traffic.surge",
        subject=f"surge@{hour}",
        audience="manager",
    )
