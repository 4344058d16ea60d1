"""Follows the facts ingest writes, so neither ingest nor the rules engine changes:

- `visit_end` with garments tried and none bought → a follow-up task (the rule
  `followup.tried_not_bought`; once per member and visit);
- `sale_item` of a member → attributed to that member's pending tasks in the store.

Each sweep reads the last `lookback_s` of both measurements (late points included); both
steps are idempotent, so overlapping sweeps, or several API processes, count nothing twice.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

import msgspec

from rules.followups.model import Attribution
from rules.followups.service import FollowupError, FollowupService, TaskRequest
from rules.lifecycle.outcomes import PointQuery
from rules.readmodel import MemberHistory
from storesense.backends.state.base import StateStore
from storesense.backends.timeseries.base import Point
from storesense.periodic import every
from storesense.settings import FollowupSettings

log = logging.getLogger(__name__)

RULE = "followup.tried_not_bought"
_SUGGESTED_TTL_S = 30 * 86_400


def tried_not_bought(history: MemberHistory, start_ms: int, end_ms: int) -> list[str]:
    """GTINs tried during the visit [start, end] and not bought in it, most recent first."""
    bought = {gtin for ts, gtin, kind in history.items if kind == "b" and start_ms <= ts <= end_ms}
    tried: dict[str, int] = {}
    for ts, gtin, kind in history.items:
        if kind == "t" and start_ms <= ts <= end_ms and gtin not in bought:
            tried[gtin] = max(ts, tried.get(gtin, 0))
    return sorted(tried, key=lambda gtin: -tried[gtin])


def sales_by_member(points: list[Point]) -> list[tuple[str, str, Attribution]]:
    """(store, member, sale) for each sale of a named member, from its `sale_item` points."""
    sales: dict[tuple[str, str], tuple[str, int, float, int]] = {}
    for point in points:
        member = point.fields.get("member_id")
        sale_id = point.fields.get("sale_id")
        if not isinstance(member, str) or not isinstance(sale_id, str):
            continue
        key = (point.tags.get("store", ""), sale_id)
        qty = int(point.fields.get("qty", 1) or 1)
        price = float(point.fields.get("price", 0.0) or 0.0)
        _, ts, amount, items = sales.get(key, (member, point.ts_ns // 1_000_000, 0.0, 0))
        sales[key] = (member, min(ts, point.ts_ns // 1_000_000), amount + qty * price, items + qty)
    return [
        (
            store,
            member,
            Attribution(sale_id=sale_id, ts_ms=ts, amount=round(amount, 2), items=items),
        )
        for (store, sale_id), (member, ts, amount, items) in sorted(sales.items())
    ]


class FollowupFollower:
    def __init__(
        self,
        service: FollowupService,
        state: StateStore,
        series: PointQuery,
        params: FollowupSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._service = service
        self._state = state
        self._series = series
        self.params = params or FollowupSettings()
        self._clock = clock
        self.suggested = 0
        self.attributed = 0

    async def sweep(self) -> None:
        end_ns = int((self._clock() + 60) * 1e9)
        start_ns = end_ns - int((self.params.lookback_s + 60) * 1e9)
        sales = await self._series.query("sale_item", start_ns=start_ns, end_ns=end_ns)
        for store, member, sale in sales_by_member(sales):
            self.attributed += len(await self._service.on_sale(store, member, sale))
        if self.params.suggest:
            visits = await self._series.query("visit_end", start_ns=start_ns, end_ns=end_ns)
            for point in visits:
                if await self._suggest(point):
                    self.suggested += 1

    async def _suggest(self, point: Point) -> bool:
        store = point.tags.get("store", "")
        member = point.fields.get("member_id")
        tried = point.fields.get("tried", 0)
        bought = point.fields.get("bought", 0)
        if not isinstance(member, str) or not isinstance(tried, int | float):
            return False
        if tried < self.params.min_tried or bought:
            return False
        end_ms = point.ts_ns // 1_000_000
        start_ms = end_ms - int(point.fields.get("duration_ms", 0) or 0)
        if not await self._first(f"followup:suggested:{store}:{member}:{start_ms}"):
            return False
        raw = await self._state.get(f"rules:member:{store}:{member}")
        history = msgspec.json.decode(raw, type=MemberHistory) if raw else MemberHistory()
        gtins = tried_not_bought(history, start_ms, end_ms)
        request = TaskRequest(
            store=store, member_id=member, created_by=f"rule:{RULE}", source="rule",
            gtins=gtins[:5], window_days=self.params.window_days, visit_ms=start_ms,
        )  # fmt: skip
        try:
            await self._service.create(request)
        except FollowupError as exc:
            if exc.field != "gtins":  # an unknown member: nobody to follow up
                log.warning("followup not suggested store=%s member=%s: %s", store, member, exc)
                return False
            # A garment missing from the catalog: the task still names the member.
            await self._service.create(dataclasses.replace(request, gtins=()))
        return True

    async def _first(self, key: str) -> bool:
        return await self._state.update(
            key, lambda old: (old or b"1", old is None), ttl_s=_SUGGESTED_TTL_S
        )

    async def run(self) -> None:
        """Sweep every `interval_s` until cancelled."""
        await every(self.params.interval_s, self.sweep, "followup sweep")
