"""The one interface every delivery channel implements."""

from __future__ import annotations

from typing import Protocol

from storesense.protocol.alerts import Alert


class Channel(Protocol):
    name: str

    async def deliver(self, alert: Alert) -> None:
        """Deliver one alert; raise to have the dispatcher retry it."""
        ...
