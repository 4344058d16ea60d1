"""One loop for the service's background rounds (alert timers, the rule timer, the
follow-up sweep): run a step every few seconds until cancelled, surviving a failed round.

It stops when cancelled even if the cancellation arrived inside a client library that
swallowed it (aiomqtt and redis-py can, on Python 3.11): it checks `cancelling()` after
every round, or shutdown would wait on the loop for ever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from storesense.errors import StoresenseError

log = logging.getLogger(__name__)


async def every(
    interval_s: float,
    step: Callable[[], Awaitable[object]],
    what: str,
    *,
    wait_first: bool = False,
) -> None:
    """Await `step()` every `interval_s` (first after one interval when `wait_first`) until
    cancelled. A round failing with one of our errors (a backend down) is logged as an
    error, anything else with its traceback; the next round comes all the same."""
    me = asyncio.current_task()
    if wait_first:
        await asyncio.sleep(interval_s)
    while True:
        try:
            await step()
        except StoresenseError as exc:
            log.error("%s failed error=%s", what, exc)
        except Exception:  # one bad round must not stop every later one
            log.exception("%s failed", what)
        if me is not None and me.cancelling():
            raise asyncio.CancelledError
        await asyncio.sleep(interval_s)
