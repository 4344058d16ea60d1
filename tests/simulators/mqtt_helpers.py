"""Subscribe to a simulated store on the test broker and collect what it publishes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import aiomqtt

from storesense.protocol.topics import Channel, Topics


@dataclass
class Received:
    events: list[tuple[str, bytes]] = field(default_factory=list)  # (device, payload)
    statuses: list[tuple[str, dict[str, object], bool]] = field(default_factory=list)

    def offline_devices(self) -> set[str]:
        return {device for device, status, _ in self.statuses if status["state"] == "offline"}


async def collect(
    subscriber: aiomqtt.Client, received: Received, devices: set[str], topics: Topics
) -> None:
    """Collect until every device in `devices` has said it is offline.

    Each device publishes its events and then its offline status on one connection, so by
    then all its events have arrived too."""
    async for message in subscriber.messages:
        parsed = topics.parse_device(message.topic.value)
        payload = message.payload
        assert isinstance(payload, bytes)
        if parsed.channel is Channel.EVENTS:
            received.events.append((parsed.device, payload))
        elif parsed.channel is Channel.STATUS:
            received.statuses.append((parsed.device, json.loads(payload), message.retain))
            if devices <= received.offline_devices():
                return
