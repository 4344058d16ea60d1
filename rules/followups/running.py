"""Follow-up tasks for one API process: the service, delivering through the process's alert
delivery, and (when the time series can be read) the follower that suggests tasks and
attributes purchases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rules.followups.follower import FollowupFollower
from rules.followups.service import FollowupService
from rules.lifecycle.outcomes import PointQuery, PointSubmitter
from rules.lifecycle.running import AlertDelivery
from storesense.backends.state.base import StateStore
from storesense.cancelling import cancel_and_wait
from storesense.registry.stores import store_locale
from storesense.settings import Settings


@asynccontextmanager
async def followups_running(
    settings: Settings,
    state: StateStore,
    delivery: AlertDelivery,
    *,
    points: PointSubmitter | None = None,
    series: PointQuery | None = None,
) -> AsyncIterator[FollowupService]:
    service = FollowupService(
        state,
        lambda store: store_locale(state, store, settings),
        publish=delivery.dispatcher.publish,
        points=points,
        resolve_alert=delivery.lifecycle.resolve,
    )
    follower = None
    if series is not None:
        follower = asyncio.create_task(
            FollowupFollower(service, state, series, settings.followups).run(),
            name="followups",
        )
    try:
        yield service
    finally:
        if follower is not None:
            await cancel_and_wait(follower)
