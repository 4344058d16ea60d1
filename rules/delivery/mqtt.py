"""Channel: the store's MQTT alerts topic, read by in-store screens and handhelds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from storesense.protocol.alerts import Alert, encode_alert
from storesense.protocol.topics import Topics

Publish = Callable[[str, bytes], Awaitable[None]]


class MqttAlertChannel:
    name = "mqtt"

    def __init__(self, publish: Publish, topics: Topics) -> None:
        self._publish = publish
        self._topics = topics

    async def deliver(self, alert: Alert) -> None:
        await self._publish(self._topics.alerts(alert.store), encode_alert(alert))
