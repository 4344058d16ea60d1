"""Fan live alerts out to connected WebSocket and SSE clients.

Each client gets a bounded queue; a client too slow to keep up is disconnected (it
reconnects and catches up from its last alert id) rather than slowing anyone else.
"""

from __future__ import annotations

import asyncio
import logging

from storesense.protocol.alerts import Alert

log = logging.getLogger(__name__)


class Subscription:
    def __init__(self, store: str | None, size: int) -> None:
        self.store = store
        self.queue: asyncio.Queue[Alert | None] = asyncio.Queue(maxsize=size)
        self.closed = False


class AlertHub:
    def __init__(self, queue_size: int = 1000) -> None:
        self._subscriptions: set[Subscription] = set()
        self._queue_size = queue_size
        self.published = 0
        self.disconnected_slow = 0

    def subscribe(self, store: str | None) -> Subscription:
        subscription = Subscription(store, self._queue_size)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    @property
    def clients(self) -> int:
        return len(self._subscriptions)

    def publish(self, alert: Alert) -> None:
        self.published += 1
        for subscription in list(self._subscriptions):
            if subscription.store is not None and subscription.store != alert.store:
                continue
            try:
                subscription.queue.put_nowait(alert)
            except asyncio.QueueFull:
                self._drop(subscription)

    def _drop(self, subscription: Subscription) -> None:
        self.disconnected_slow += 1
        subscription.closed = True
        self._subscriptions.discard(subscription)
        while not subscription.queue.empty():
            subscription.queue.get_nowait()
        subscription.queue.put_nowait(None)  # wakes the client's loop to close
        log.warning("live client too slow, disconnected store=%s", subscription.store or "*")
