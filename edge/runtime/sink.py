"""The EventSink agents emit into: encode each event, append to the outbox (durable on
return), wake the publisher."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from edge.runtime.outbox import Outbox
from storesense.protocol.decode import MAX_MESSAGE_BYTES
from storesense.protocol.events import AnyEvent, encode_events


class OutboxSink:
    def __init__(self, outbox: Outbox, on_append: Callable[[], None] | None = None) -> None:
        self._outbox = outbox
        self._on_append = on_append
        self.emitted = 0

    def emit(self, events: Sequence[AnyEvent]) -> None:
        """Durably store `events` (all or none); raise ValueError for an event too large
        for any message, OutboxError when the disk write fails."""
        payloads = [encode_events(event) for event in events]
        for event, payload in zip(events, payloads, strict=True):
            if len(payload) + 2 > MAX_MESSAGE_BYTES:  # +2: it may travel in a batch
                raise ValueError(
                    f"event {event.id} is {len(payload)} bytes encoded; a message holds at "
                    f"most {MAX_MESSAGE_BYTES}"
                )
        if not payloads:
            return
        self._outbox.append(payloads)
        self.emitted += len(payloads)
        if self._on_append is not None:
            self._on_append()
