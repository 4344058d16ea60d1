"""Follow-up tasks in the state store, delivered like alerts, completed, attributed.

Documents: `followup:task:{store}:{id}` (the task), `followup:where:{id}` (its store) and
`followup:pending:{store}:{member}` (tasks still waiting for that member's purchase, with
the end of their window). Every change is one atomic `update`; only the process whose
change was applied writes its point, so several API processes never count one twice.

A task is announced as an alert of type `followup.task` (subject: the task id; no
escalation or expiry, a task lasts days) on every alert channel: MQTT, webhooks, WeCom.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import msgspec

from rules.followups import model, points, texts
from rules.followups.model import Attribution, FollowupTask, Refused, TaskItem, TaskOutcome
from rules.lifecycle.outcomes import PointSubmitter
from rules.readmodel import ReadModel
from storesense.backends.state.base import StateStore
from storesense.backends.timeseries.base import Point
from storesense.protocol.alerts import Alert, AlertMember, Outcome, new_alert_id
from storesense.registry import stored
from storesense.registry.members import Member
from storesense.registry.products import Product

log = logging.getLogger(__name__)

ALERT_TYPE = "followup.task"
Locale = Literal["en", "zh-CN"]
# What a task's outcome means for the alert that announced it.
ALERT_OUTCOME: dict[str, Outcome] = {
    "purchased": "purchased",
    "not_needed": "not_needed",
    "unreachable": "no_show",
    "contacted": "served",
    "visit_booked": "served",
    "not_interested": "served",
}
_PENDING_TTL_S = 400 * 86_400
_encode = msgspec.json.Encoder().encode
_task = msgspec.json.Decoder(FollowupTask)
_pending = msgspec.json.Decoder(list[tuple[str, int]])


class FollowupError(Exception):
    """A request about a task was refused; `status` is the HTTP answer it deserves."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


@dataclass(frozen=True)
class TaskRequest:
    store: str
    member_id: str
    created_by: str
    source: model.Source = "user"
    gtins: Sequence[str] = ()
    note: str | None = None
    assignee: str | None = None
    window_days: int = 14
    visit_ms: int | None = None


ResolveAlert = Callable[[str, str, Outcome], Awaitable[object]]


class FollowupService:
    def __init__(
        self,
        state: StateStore,
        locale_for: Callable[[str], Awaitable[Locale]],
        *,
        publish: Callable[[Alert], None] | None = None,
        points: PointSubmitter | None = None,
        resolve_alert: ResolveAlert | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self._locale_for = locale_for
        self._publish = publish
        self._points = points
        self._resolve_alert = resolve_alert
        self._clock = clock
        self._read = ReadModel(state)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # -- reading ---------------------------------------------------------------------------

    async def get(self, task_id: str) -> FollowupTask | None:
        store = await self._state.get(f"followup:where:{task_id}")
        if store is None:
            return None
        raw = await self._state.get(f"followup:task:{store.decode()}:{task_id}")
        return None if raw is None else _task.decode(raw)

    async def find(
        self,
        store: str,
        *,
        state: model.TaskState | None = None,
        assignee: str | None = None,
        member_id: str | None = None,
    ) -> list[FollowupTask]:
        """A store's tasks, newest first."""
        found = [_task.decode(raw) for _, raw in await self._state.scan(f"followup:task:{store}:")]
        return sorted(
            (
                t
                for t in found
                if (state is None or t.state == state)
                and (assignee is None or t.assignee in (assignee, None))
                and (member_id is None or t.member_id == member_id)
            ),
            key=lambda t: t.id,
            reverse=True,
        )

    # -- creating --------------------------------------------------------------------------

    async def create(self, request: TaskRequest) -> FollowupTask:
        """Store a task, announce it and count it; FollowupError (404) for an unknown
        member or product."""
        member = await stored.load_one(self._state, Member, request.member_id)
        if member is None:
            raise FollowupError(404, f"no member {request.member_id!r}", field="member_id")
        items = tuple([await self._item(request.store, gtin) for gtin in request.gtins])
        locale = await self._locale_for(request.store)
        title, body = texts.render(member.name, items, request.note, locale)
        now_ms = self._now_ms()
        task = FollowupTask(
            id=model.new_task_id(now_ms), store=request.store, member_id=member.member_id,
            member_name=member.name, tier=member.tier, created_ms=now_ms,
            created_by=request.created_by, source=request.source,
            window_days=request.window_days, title=title, body=body, locale=locale,
            assignee=request.assignee, items=items, note=request.note,
            visit_ms=request.visit_ms,
        )  # fmt: skip
        alert = self._alert(task)
        task = msgspec.structs.replace(task, alert_id=alert.id)
        encoded = _encode(task)
        await self._state.update(f"followup:where:{task.id}", lambda _: (task.store.encode(), None))
        await self._state.update(self._key(task), lambda _: (encoded, None))
        await self._add_pending(task)
        await self._state.add_alert(alert)
        if self._publish is not None:
            self._publish(alert)
        self._submit(points.created_point(task))
        log.info(
            "followup created task=%s store=%s member=%s source=%s items=%d",
            task.id, task.store, task.member_id, task.source, len(items),
        )  # fmt: skip
        return task

    async def _item(self, store: str, gtin: str) -> TaskItem:
        product = await stored.load_one(self._state, Product, gtin)
        if product is None:
            raise FollowupError(404, f"no product with GTIN {gtin!r}", field="gtins")
        stock = await self._read.stock(store, gtin, product)
        return TaskItem(
            gtin=gtin, name=product.name, colour=product.colour, size=product.size,
            in_stock=True if stock.floor + stock.backroom > 0 else None,
        )  # fmt: skip

    def _alert(self, task: FollowupTask) -> Alert:
        return Alert(
            id=new_alert_id(task.created_ms), store=task.store, type=ALERT_TYPE,
            ts=task.created_ms, state="open", title=task.title, body=task.body,
            locale=task.locale,
            member=AlertMember(id=task.member_id, name=task.member_name, tier=task.tier),
            data={
                "task_id": task.id,
                "items": [msgspec.to_builtins(item) for item in task.items],
                "window_days": task.window_days,
            },
            rule="followup", subject=task.id, audience="assistant",
            targets=[task.assignee] if task.assignee else [],
        )  # fmt: skip

    # -- completing ------------------------------------------------------------------------

    async def complete(
        self, task_id: str, staff: str, outcome: TaskOutcome, note: str | None = None
    ) -> FollowupTask:
        now_ms = self._now_ms()
        task, changed = await self._change(
            task_id, lambda t: model.complete(t, staff, outcome, note, now_ms)
        )
        if changed and task.alert_id and self._resolve_alert is not None:
            try:
                await self._resolve_alert(task.alert_id, staff, ALERT_OUTCOME[outcome])
            except Exception as exc:  # the task is done; its alert is bookkeeping
                log.warning("followup alert not resolved task=%s error=%r", task.id, exc)
        return task

    async def cancel(self, task_id: str) -> FollowupTask:
        now_ms = self._now_ms()
        task, _ = await self._change(task_id, lambda t: model.cancel(t, now_ms))
        await self._drop_pending(task)
        return task

    async def _change(
        self, task_id: str, change: Callable[[FollowupTask], FollowupTask | Refused]
    ) -> tuple[FollowupTask, bool]:
        """The task after `change`, and whether this call changed its state."""
        current = await self.get(task_id)
        if current is None:
            raise FollowupError(404, f"no task {task_id!r}")

        def step(old: bytes | None) -> tuple[bytes | None, FollowupTask | Refused | None]:
            if old is None:
                return None, None
            task = _task.decode(old)
            result = change(task)
            if isinstance(result, Refused) or result.version == task.version:
                return old, result
            return _encode(result), result

        result = await self._state.update(self._key(current), step)
        if result is None:
            raise FollowupError(404, f"no task {task_id!r}")
        if isinstance(result, Refused):
            raise FollowupError(409, result.message, field="staff")
        changed = result.version != current.version and result.state != current.state
        if changed:
            self._submit(points.outcome_point(result))
        return result, changed

    # -- attributing -----------------------------------------------------------------------

    async def on_sale(self, store: str, member_id: str, sale: Attribution) -> list[FollowupTask]:
        """Attribute a member's sale to their tasks in that store whose window holds it."""
        raw = await self._state.get(f"followup:pending:{store}:{member_id}")
        if raw is None:
            return []
        attributed = []
        for task_id, _end in _pending.decode(raw):
            task = await self._attribute(store, task_id, sale)
            if task is not None:
                attributed.append(task)
        await self._prune_pending(store, member_id, {t.id for t in attributed}, sale.ts_ms)
        return attributed

    async def _attribute(self, store: str, task_id: str, sale: Attribution) -> FollowupTask | None:
        def step(old: bytes | None) -> tuple[bytes | None, FollowupTask | None]:
            if old is None:
                return None, None
            new = model.attribute(_task.decode(old), sale)
            return (old, None) if new is None else (_encode(new), new)

        task = await self._state.update(f"followup:task:{store}:{task_id}", step)
        if task is not None:
            self._submit(points.attributed_point(task))
            log.info(
                "followup attributed task=%s store=%s member=%s sale=%s amount=%s",
                task.id, store, task.member_id, sale.sale_id, sale.amount,
            )  # fmt: skip
        return task

    async def _add_pending(self, task: FollowupTask) -> None:
        entry = (task.id, task.window_end_ms)

        def add(old: bytes | None) -> tuple[bytes | None, None]:
            entries = _pending.decode(old) if old else []
            return _encode([*entries, entry]), None

        key = f"followup:pending:{task.store}:{task.member_id}"
        await self._state.update(key, add, ttl_s=_PENDING_TTL_S)

    async def _drop_pending(self, task: FollowupTask) -> None:
        await self._prune_pending(task.store, task.member_id, {task.id}, 0)

    async def _prune_pending(self, store: str, member: str, done: set[str], now_ms: int) -> None:
        """Forget tasks attributed (`done`) or whose window ended before `now_ms`."""

        def prune(old: bytes | None) -> tuple[bytes | None, None]:
            if old is None:
                return None, None
            kept = [(i, end) for i, end in _pending.decode(old) if i not in done and end >= now_ms]
            return (_encode(kept) if kept else None), None

        await self._state.update(f"followup:pending:{store}:{member}", prune, ttl_s=_PENDING_TTL_S)

    def _key(self, task: FollowupTask) -> str:
        return f"followup:task:{task.store}:{task.id}"

    def _submit(self, point: Point) -> None:
        if self._points is not None:
            self._points.submit([point])
