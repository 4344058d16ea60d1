"""Fan alerts out to every channel; a slow or failing channel never delays the others.

Each channel has its own bounded queue and worker task. Failed deliveries are retried
with backoff; an alert that still fails, or that finds its channel's queue full, is
dropped and counted.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

from rules.delivery.base import Channel
from storesense.protocol.alerts import Alert

log = logging.getLogger(__name__)


@dataclass
class ChannelCounters:
    delivered: int = 0
    retried: int = 0
    dropped: int = 0


class Dispatcher:
    def __init__(
        self,
        channels: Sequence[Channel],
        *,
        queue_size: int = 10_000,
        max_attempts: int = 6,
        backoff_s: float = 0.2,
    ) -> None:
        self._channels = list(channels)
        self._queues = {c.name: asyncio.Queue[Alert](maxsize=queue_size) for c in channels}
        self.counters = {c.name: ChannelCounters() for c in channels}
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Dispatcher:
        self._tasks = [
            asyncio.create_task(self._run(channel), name=f"deliver-{channel.name}")
            for channel in self._channels
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def publish(self, alert: Alert) -> None:
        """Queue an alert on every channel; never blocks."""
        for channel in self._channels:
            try:
                self._queues[channel.name].put_nowait(alert)
            except asyncio.QueueFull:
                self.counters[channel.name].dropped += 1
                log.warning(
                    "alert dropped channel=%s alert=%s reason=queue_full", channel.name, alert.id
                )

    async def drain(self) -> None:
        """Wait until every queued alert has been delivered or given up on."""
        await asyncio.gather(*(queue.join() for queue in self._queues.values()))

    async def _run(self, channel: Channel) -> None:
        queue = self._queues[channel.name]
        counters = self.counters[channel.name]
        while True:
            alert = await queue.get()
            try:
                await self._deliver_with_retries(channel, alert, counters)
            finally:
                queue.task_done()

    async def _deliver_with_retries(
        self, channel: Channel, alert: Alert, counters: ChannelCounters
    ) -> None:
        delay = self._backoff_s
        for attempt in range(1, self._max_attempts + 1):
            try:
                await channel.deliver(alert)
            except Exception as exc:  # any channel failure is retried, never propagated
                if attempt == self._max_attempts:
                    counters.dropped += 1
                    log.error(
                        "alert delivery failed channel=%s alert=%s attempts=%d error=%r",
                        channel.name, alert.id, attempt, exc,
                    )  # fmt: skip
                    return
                counters.retried += 1
                log.warning(
                    "alert delivery retry channel=%s alert=%s attempt=%d error=%r",
                    channel.name, alert.id, attempt, exc,
                )  # fmt: skip
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 10.0)
            else:
                counters.delivered += 1
                return
