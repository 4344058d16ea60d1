"""Follow-up tasks as time series, for the analytics:

- `followup_created` (tags store, source: rule | user; fields task_id, member_id, items):
  a task is created.
- `followup_outcome` (tags store, outcome: a TaskOutcome or `cancelled`, source; fields
  task_id, member_id, staff, time_to_complete_ms): a task is completed or cancelled.
- `followup_attributed` (tags store, outcome: the task's, or `open` if not completed yet,
  source; fields task_id, member_id, sale_id, amount, items, time_to_purchase_ms): a sale
  by the member in the store within the task's window (at most one per task).

Each point's timestamp is its event (creation, completion, the sale) plus a stable offset
from the task id (`event_ts_ns`), so a point written twice overwrites itself.
"""

from __future__ import annotations

from ingest.points import event_ts_ns
from rules.followups.model import FollowupTask
from storesense.backends.timeseries.base import Point

MEASUREMENTS = ("followup_created", "followup_outcome", "followup_attributed")


def created_point(task: FollowupTask) -> Point:
    return Point(
        "followup_created",
        {"store": task.store, "source": task.source},
        {"task_id": task.id, "member_id": task.member_id, "items": len(task.items)},
        event_ts_ns(task.created_ms, "followup_created", task.id),
    )


def outcome_point(task: FollowupTask) -> Point:
    ended = task.completed_ms or task.created_ms
    outcome = task.outcome if task.state == "done" and task.outcome else task.state
    return Point(
        "followup_outcome",
        {"store": task.store, "outcome": outcome, "source": task.source},
        {
            "task_id": task.id,
            "member_id": task.member_id,
            "staff": task.completed_by or "",
            "time_to_complete_ms": ended - task.created_ms,
        },
        event_ts_ns(ended, "followup_outcome", task.id),
    )


def attributed_point(task: FollowupTask) -> Point:
    assert task.attributed is not None
    sale = task.attributed
    outcome = task.outcome if task.state == "done" and task.outcome else "open"
    return Point(
        "followup_attributed",
        {"store": task.store, "outcome": outcome, "source": task.source},
        {
            "task_id": task.id,
            "member_id": task.member_id,
            "sale_id": sale.sale_id,
            "amount": sale.amount,
            "items": sale.items,
            "time_to_purchase_ms": sale.ts_ms - task.created_ms,
        },
        event_ts_ns(sale.ts_ms, "followup_attributed", task.id),
    )
