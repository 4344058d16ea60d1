"""Turn rule drafts into alerts: texts in the store's locale, an id, stored, dispatched."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from rules.delivery.dispatcher import Dispatcher
from rules.drafts import AlertDraft
from rules.texts import Locale, render
from storesense.backends.state.base import StateStore
from storesense.protocol.alerts import Alert, new_alert_id

log = logging.getLogger(__name__)


class AlertRaiser:
    def __init__(
        self,
        state: StateStore,
        dispatcher: Dispatcher,
        locale_for: Callable[[str], Locale],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self._dispatcher = dispatcher
        self._locale_for = locale_for
        self._clock = clock
        self.raised = 0

    async def raise_alert(self, draft: AlertDraft) -> Alert:
        now_ms = int(self._clock() * 1000)
        locale = self._locale_for(draft.store)
        title, body = render(draft, locale, now_ms)
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
            data={k: v for k, v in draft.facts.items() if v is not None},
        )
        await self._state.add_alert(alert)
        self._dispatcher.publish(alert)
        self.raised += 1
        log.info(
            "alert raised store=%s type=%s alert=%s member=%s",
            alert.store, alert.type, alert.id, alert.member.id if alert.member else "-",
        )  # fmt: skip
        return alert
