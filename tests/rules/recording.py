"""A delivery channel that keeps what it is given, for tests that drive the pipeline."""

from __future__ import annotations

from storesense.protocol.alerts import Alert


class RecordingChannel:
    name = "recording"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    async def deliver(self, alert: Alert) -> None:
        self.alerts.append(alert)
