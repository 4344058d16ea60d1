"""Request and response models of the follow-up task routes."""

from __future__ import annotations

from typing import Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from rules.followups.model import FollowupTask, TaskOutcome
from storesense.registry.organisation import Identifier


class NewTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store: Identifier
    member_id: str = Field(min_length=1, max_length=64)
    gtins: list[str] = Field(
        default_factory=list, max_length=20, description="garments to mention (GTIN-14)"
    )
    note: str | None = Field(default=None, max_length=500, description="shown in the task")
    assignee: str | None = Field(default=None, max_length=64, description="staff id; none: any")
    created_by: str = Field(default="api", min_length=1, max_length=64)
    window_days: int | None = Field(
        default=None, ge=1, le=90,
        description="a purchase this many days after is attributed; default: settings (14)",
    )  # fmt: skip


class CompleteTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    staff: str = Field(min_length=1, max_length=64)
    outcome: TaskOutcome
    note: str | None = Field(default=None, max_length=500)


class TaskItemOut(BaseModel):
    gtin: str
    name: str | None = None
    colour: str | None = None
    size: str | None = None
    in_stock: bool | None = None


class AttributionOut(BaseModel):
    sale_id: str
    ts_ms: int
    amount: float
    items: int


class TaskOut(BaseModel):
    id: str
    store: str
    member_id: str
    member_name: str
    tier: str | None = None
    state: Literal["open", "done", "cancelled"] = "open"
    source: Literal["rule", "user"]
    created_ms: int
    created_by: str
    window_days: int
    title: str
    body: str
    locale: str = "en"
    assignee: str | None = None
    items: list[TaskItemOut] = Field(default_factory=list)
    note: str | None = None
    visit_ms: int | None = None
    alert_id: str | None = None
    completed_ms: int | None = None
    completed_by: str | None = None
    outcome: TaskOutcome | None = None
    outcome_note: str | None = None
    attributed: AttributionOut | None = None

    @classmethod
    def of(cls, task: FollowupTask) -> TaskOut:
        return cls.model_validate(msgspec.to_builtins(task))


class TaskList(BaseModel):
    tasks: list[TaskOut]
