"""Fan alerts out to every channel; a slow or failing channel never delays the others.

Each channel has its own bounded queue and worker task. Failed deliveries are retried
with backoff; an alert that still fails, or that finds its channel's queue full, is
dropped and counted.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
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
        on_delivered: Callable[[Alert], Awaitable[None]] | None = None,
    ) -> None:
        self._channels = list(channels)
        self._on_delivered = on_delivered
        self._queues = {c.name: asyncio.Queue[Alert](maxsize=queue_size) for c in channels}
        self.counters = {c.name: ChannelCounters() for c in channels}
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

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
        # The flag ends a loop whose cancellation a channel swallowed (3.11's wait_for, which
        # aiomqtt's publish uses, can drop a cancel that meets a PUBACK): no hung shutdown.
        self._closing = True
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
        while not self._closing:
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
                await self._delivered(channel, alert)
                return

    async def _delivered(self, channel: Channel, alert: Alert) -> None:
        if self._on_delivered is None:
            return
        try:
            await self._on_delivered(alert)
        except Exception as exc:  # bookkeeping; never fail or repeat the delivery for it
            log.warning(
                "delivery not recorded channel=%s alert=%s error=%r", channel.name, alert.id, exc
            )
