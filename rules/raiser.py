"""Turn rule drafts into alerts: one per situation (`rules/situations.py`),
texts in the store's locale, routed to the staff on shift, stored, then pushed unless the
store is in its quiet hours. Locale, timezone and shifts: the registry's, else the settings'
(`rules/lifecycle/roster.py`)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

from rules.drafts import AlertDraft
from rules.lifecycle.outcomes import PointSubmitter, raised_point
from rules.lifecycle.policy import AlertPolicy
from rules.lifecycle.roster import AlertRouting
from rules.lifecycle.service import StaffRoles
from rules.situations import SituationGate
from rules.texts import Locale, render
from storesense.backends.state.base import StateStore
from storesense.errors import BackendUnavailable
from storesense.protocol.alerts import Alert, new_alert_id
from storesense.settings import Settings

log = logging.getLogger(__name__)


class AlertPublisher(Protocol):
    def publish(self, alert: Alert) -> None: ...


class AlertRaiser:
    def __init__(
        self,
        state: StateStore,
        dispatcher: AlertPublisher,
        locale_for: Callable[[str], Locale],
        clock: Callable[[], float] = time.time,
        *,
        policy: AlertPolicy | None = None,
        points: PointSubmitter | None = None,
        staff: StaffRoles | None = None,
    ) -> None:
        self._state = state
        self._dispatcher = dispatcher
        self._locale_for = locale_for
        self._clock = clock
        self._policy = policy or AlertPolicy(Settings())
        self._points = points
        self._staff = staff or StaffRoles(state)
        self._routing = AlertRouting(self._policy, self._staff)
        self.raised = 0
        self._situations = SituationGate(state)
        self.suppressed = 0  # a new situation of the same thing within the rule's cooldown
        self.quiet = 0  # stored during quiet hours, not pushed

    async def raise_alert(self, draft: AlertDraft) -> Alert | None:
        """The alert raised, or None when this situation already raised its alert, or its
        thing raised one within the rule's cooldown (`rules/situations.py`)."""
        now_ms = int(self._clock() * 1000)
        rule, subject = draft.rule_name, draft.subject_key
        verdict = await self._situations.admit(draft, self._policy.cooldown_ms(rule))
        if verdict == "same_situation":  # every later evaluation of a lasting situation
            return None
        if verdict == "cooldown":
            self.suppressed += 1
            log.info(
                "alert suppressed store=%s rule=%s subject=%s reason=cooldown",
                draft.store, rule, subject,
            )  # fmt: skip
            return None
        locale = await self._staff.locale(draft.store) or self._locale_for(draft.store)
        title, body = render(draft, locale, now_ms)
        quiet = await self._routing.is_quiet(draft.store, now_ms)
        targets = await self._routing.targets(draft.store, draft.zone, draft.audience, now_ms)
        # Quiet alerts are not pushed, so nobody could claim them in time: they only expire.
        escalates = draft.audience == "assistant" and not quiet
        wait_ms = (
            self._policy.escalate_after_ms(draft.store)
            if escalates
            else self._policy.expire_after_ms(draft.store)
        )
        alert = Alert(
            id=new_alert_id(now_ms),
            store=draft.store,
            type=draft.type,
            ts=draft.ts_ms,
            state="open",
            title=title,
            body=body,
            locale=locale,
            zone=draft.zone,
            member=draft.member,
            # Custom rules' `texts` (every locale) became the title and body.
            data={k: v for k, v in draft.facts.items() if v is not None and k != "texts"},
            rule=rule,
            subject=subject,
            audience=draft.audience,
            targets=targets,
            quiet=quiet,
            due=now_ms + wait_ms,
        )
        try:
            await self._state.add_alert(alert)
        except BackendUnavailable:
            with contextlib.suppress(BackendUnavailable):  # else it stays noted: one lost alert
                await self._situations.forget(draft)
            raise
        if self._points is not None:
            self._points.submit([raised_point(alert)])
        self.raised += 1
        if quiet:
            self.quiet += 1
        else:
            self._dispatcher.publish(alert)
        log.info(
            "alert raised store=%s type=%s alert=%s member=%s subject=%s quiet=%s targets=%s",
            alert.store, alert.type, alert.id, alert.member.id if alert.member else "-",
            subject, quiet, ",".join(targets) or "*",
        )  # fmt: skip
        return alert
