"""The alert lifecycle around the state backend: claim, resolve, escalate, expire.

Each change is one atomic `update_alert`; only the process whose change was applied
publishes it (to every channel) and writes its outcome point, so with several ingest
workers and API processes an escalation is announced once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rules.lifecycle import machine
from rules.lifecycle.machine import Changed, Refused
from rules.lifecycle.outcomes import PointSubmitter, claimed_point, outcome_point
from rules.lifecycle.policy import AlertPolicy
from rules.lifecycle.roster import AlertRouting, Roster
from storesense.backends.state.base import StateStore
from storesense.backends.timeseries.base import Point
from storesense.periodic import every
from storesense.protocol.alerts import Alert, Outcome

log = logging.getLogger(__name__)

Publish = Callable[[Alert], None]

# Staff ids and roles (and their shifts, and the stores' timezones and locales) from the
# registry, reloaded when it changes: `current()` gives the roles.
StaffRoles = Roster


@dataclass
class LifecycleCounters:
    claimed: int = 0
    refused: int = 0
    resolved: int = 0
    escalated: int = 0
    expired: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


class AlertLifecycle:
    def __init__(
        self,
        state: StateStore,
        publish: Publish,
        policy: AlertPolicy,
        points: PointSubmitter | None = None,
        staff: StaffRoles | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self._publish = publish
        self.policy = policy
        self._points = points
        self.staff = staff or StaffRoles(state)
        self.routing = AlertRouting(policy, self.staff)
        self._clock = clock
        self.counters = LifecycleCounters()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def announce(self, alert: Alert) -> None:
        """Publish a change on every channel, unless it belongs to quiet hours."""
        if not alert.quiet:
            self._publish(alert)

    async def claim(self, alert_id: str, staff: str) -> Changed | Refused:
        roles = await self.staff.current()
        if roles and staff not in roles:
            return Refused("unknown_staff", f"`staff`: {staff!r} is not in the staff registry")
        now_ms = self._now_ms()
        result = await self._state.update_alert(
            alert_id, lambda alert: _apply(machine.claim(alert, staff, now_ms))
        )
        if isinstance(result, Refused):
            self._refused(result)
        elif result.changed:
            self.counters.claimed += 1
            self._submit(claimed_point(result.alert))
            self.announce(result.alert)
            log.info(
                "alert claimed alert=%s store=%s staff=%s", alert_id, result.alert.store, staff
            )
        return result

    async def resolve(self, alert_id: str, staff: str, outcome: Outcome) -> Changed | Refused:
        roles = await self.staff.current()
        if roles and staff not in roles:
            return Refused("unknown_staff", f"`staff`: {staff!r} is not in the staff registry")
        now_ms = self._now_ms()
        unclaimed = False  # as seen by the transition that was applied (it may rerun)

        def step(alert: Alert | None) -> tuple[Alert | None, Changed | Refused]:
            nonlocal unclaimed
            unclaimed = alert is not None and alert.claimed is None
            return _apply(machine.resolve(alert, staff, outcome, now_ms))

        result = await self._state.update_alert(alert_id, step)
        if isinstance(result, Refused):
            self._refused(result)
        elif result.changed:
            self.counters.resolved += 1
            if unclaimed:
                self._submit(claimed_point(result.alert))  # resolved without a claim first
            self._submit(outcome_point(result.alert))
            self.announce(result.alert)
            log.info(
                "alert resolved alert=%s store=%s staff=%s outcome=%s",
                alert_id, result.alert.store, staff, outcome,
            )  # fmt: skip
        return result

    async def mark_delivered(self, alert: Alert) -> None:
        if alert.delivered is not None or alert.state != "open":
            return
        now_ms = self._now_ms()
        await self._state.update_alert(
            alert.id, lambda stored: (machine.mark_delivered(stored, now_ms), None)
        )

    async def tick(self) -> int:
        """Make every timed change that has come due; return how many this process made."""
        now_ms = self._now_ms()
        made = 0
        for alert_id in await self._state.due_alerts(now_ms):
            current = await self._state.alert(alert_id)
            if current is None:
                continue
            expire_at = machine.raised_ms(current) + self.policy.expire_after_ms(current.store)
            managers = await self.routing.managers(current.store)

            def step(
                alert: Alert | None, expire_at: int = expire_at, managers: list[str] = managers
            ) -> tuple[Alert | None, Alert | None]:
                new = machine.advance(alert, now_ms, expire_at_ms=expire_at, managers=managers)
                # A cleared stale timer is stored but is no change to announce.
                bumped = alert is not None and new is not None and new.version > alert.version
                return new, new if bumped else None

            changed = await self._state.update_alert(alert_id, step)
            if changed is None:
                continue
            made += 1
            if changed.state == "escalated":
                self.counters.escalated += 1
            else:
                self.counters.expired += 1
                self._submit(outcome_point(changed))
            self.announce(changed)
            log.info("alert %s alert=%s store=%s", changed.state, changed.id, changed.store)
        return made

    def _refused(self, refused: Refused) -> None:
        self.counters.refused += 1
        self.counters.by_reason[refused.reason] = self.counters.by_reason.get(refused.reason, 0) + 1

    def _submit(self, point: Point) -> None:
        if self._points is not None:
            self._points.submit([point])


def _apply(result: Changed | Refused) -> tuple[Alert | None, Changed | Refused]:
    if isinstance(result, Changed) and result.changed:
        return result.alert, result
    return None, result


async def run_timers(lifecycle: AlertLifecycle, interval_s: float) -> None:
    """Escalate and expire alerts as they come due, until cancelled. Several processes may
    run this at once: each change is applied, and announced, by exactly one of them."""
    await every(interval_s, lifecycle.tick, "alert timers")
