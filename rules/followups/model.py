"""A follow-up task and its changes, as pure functions of (task, request, now).

open ──complete(outcome)──▶ done        (cancel: cancelled)
a sale by the member in the task's store within `window_days` of its creation
──▶ `attributed` (whatever the state, once; a cancelled task attributes nothing)
"""

from __future__ import annotations

import os
from typing import Literal, get_args

import msgspec

TaskState = Literal["open", "done", "cancelled"]
TaskOutcome = Literal[
    "contacted", "visit_booked", "purchased", "not_interested", "unreachable", "not_needed"
]
OUTCOMES: tuple[str, ...] = get_args(TaskOutcome)
Source = Literal["rule", "user"]
DAY_MS = 86_400_000


class TaskItem(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    gtin: str
    name: str | None = None
    colour: str | None = None
    size: str | None = None
    in_stock: bool | None = None  # on the floor or in the backroom now (RFID); None: unknown


class Attribution(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    sale_id: str
    ts_ms: int
    amount: float
    items: int


class FollowupTask(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    id: str
    store: str
    member_id: str
    member_name: str
    created_ms: int
    created_by: str  # a staff or user id, or `rule:<name>`
    source: Source
    window_days: int
    title: str
    body: str
    locale: Literal["en", "zh-CN"] = "en"
    tier: str | None = None
    assignee: str | None = None  # staff id; None: any assistant of the store
    items: tuple[TaskItem, ...] = ()
    note: str | None = None
    visit_ms: int | None = None  # start of the visit it follows up
    state: TaskState = "open"
    alert_id: str | None = None
    completed_ms: int | None = None
    completed_by: str | None = None
    outcome: TaskOutcome | None = None
    outcome_note: str | None = None
    attributed: Attribution | None = None
    version: int = 1

    @property
    def window_end_ms(self) -> int:
        return self.created_ms + self.window_days * DAY_MS


def new_task_id(now_ms: int) -> str:
    """Sorts by creation time: 13 hex digits of ms, then 8 random."""
    return f"{now_ms:013x}{os.urandom(4).hex()}"


class Refused(msgspec.Struct, frozen=True):
    reason: Literal["final", "other_staff"]
    message: str


def complete(
    task: FollowupTask, staff: str, outcome: TaskOutcome, note: str | None, now_ms: int
) -> FollowupTask | Refused:
    """Done with an outcome; repeating the same completion changes nothing."""
    if task.state == "done" and task.completed_by == staff and task.outcome == outcome:
        return task
    if task.state != "open":
        return Refused("final", f"task {task.id} is already {task.state}")
    if task.assignee is not None and task.assignee != staff:
        return Refused("other_staff", f"task {task.id} is assigned to {task.assignee}")
    return msgspec.structs.replace(
        task, state="done", completed_ms=now_ms, completed_by=staff, outcome=outcome,
        outcome_note=note, version=task.version + 1,
    )  # fmt: skip


def cancel(task: FollowupTask, now_ms: int) -> FollowupTask | Refused:
    if task.state == "cancelled":
        return task
    if task.state != "open":
        return Refused("final", f"task {task.id} is already {task.state}")
    return msgspec.structs.replace(
        task, state="cancelled", completed_ms=now_ms, version=task.version + 1
    )


def attribute(task: FollowupTask, sale: Attribution) -> FollowupTask | None:
    """The task with the sale attributed, or None when it does not qualify (already
    attributed, cancelled, or the sale is outside the task's window)."""
    if task.attributed is not None or task.state == "cancelled":
        return None
    if not task.created_ms <= sale.ts_ms <= task.window_end_ms:
        return None
    return msgspec.structs.replace(task, attributed=sale, version=task.version + 1)
