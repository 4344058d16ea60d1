"""Stopping asyncio tasks for certain."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancel_and_wait(*tasks: asyncio.Task[Any], retry_s: float = 0.5) -> None:
    """Cancel `tasks` and wait until every one has ended, cancelling again any still running
    after `retry_s`. One cancel is not always enough: Python 3.11's asyncio.wait_for drops a
    cancellation that arrives as the future it waits on completes (fixed in 3.12), and
    aiomqtt waits that way on every MQTT call, so a task could run on and its owner wait
    forever. What the tasks raised is not re-raised (they are being stopped)."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=retry_s)
    for task in tasks:
        if not task.cancelled():
            with contextlib.suppress(Exception):
                task.exception()  # retrieved, so asyncio does not log it as never retrieved
