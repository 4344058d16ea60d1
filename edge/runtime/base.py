"""The contract between an agent (RFID, door, beacon) and the runtime that carries its
events to the broker. Agents are synchronous and run in their own thread; the runtime
owns the outbox, the paho-mqtt client, status/heartbeat and the retained config."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from storesense.protocol.events import AnyEvent


class EventSink(Protocol):
    def emit(self, events: Sequence[AnyEvent]) -> None:
        """Hand events to the runtime; when this returns they are durable (on disk)."""
        ...


class Agent(Protocol):
    kind: str  # "rfid" | "door" | "beacon": the `kind` in the device's status message

    def run(self, sink: EventSink, stop: threading.Event) -> None:
        """Read the source and emit events until `stop` is set or the source ends."""
        ...

    def apply_config(self, config: Mapping[str, Any]) -> None:
        """Apply the agent section of a live config; raise ValueError naming a bad key
        (the runtime then keeps the previous config)."""
        ...


def new_event_id(now_ms: int | None = None) -> str:
    """Unique per device without coordination: 11 hex digits of ms + 10 random hex."""
    stamp = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{stamp:011x}{os.urandom(5).hex()}"
