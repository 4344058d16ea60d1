"""Group each device's events into protocol messages, as an edge agent's outbox would.

Pure. With `batch_size` 1 every event is its own message (a single JSON object); above 1 a
device sends JSON arrays, flushed when full or `linger_ms` after their first event, whichever
comes first. A batch that would exceed the protocol's 256 KiB is split.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from simulators.scenario import Emission
from storesense.protocol.decode import MAX_BATCH_EVENTS, MAX_MESSAGE_BYTES
from storesense.protocol.events import AnyEvent, encode_events


@dataclass(frozen=True, slots=True)
class Message:
    """One `events` message: sent at `at_ms` (simulated) by `device`."""

    at_ms: int
    device: str
    events: tuple[AnyEvent, ...]
    payload: bytes


def batch_emissions(
    emissions: Iterable[Emission],
    *,
    batch_size: int = 1,
    linger_ms: int = 1000,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> list[Message]:
    """Turn time-ordered emissions into time-ordered messages."""
    if not 1 <= batch_size <= MAX_BATCH_EVENTS:
        raise ValueError(f"batch_size must be 1-{MAX_BATCH_EVENTS}, got {batch_size}")
    if linger_ms < 0:
        raise ValueError(f"linger_ms must be >= 0, got {linger_ms}")
    messages: list[Message] = []
    if batch_size == 1:
        for emission in emissions:
            payload = encode_events(emission.event)
            messages.append(Message(emission.at_ms, emission.device, (emission.event,), payload))
        return messages

    open_batches: dict[str, list[Emission]] = {}

    def flush(device: str, at_ms: int) -> None:
        batch = open_batches.pop(device)
        messages.extend(_split(device, at_ms, [e.event for e in batch], max_bytes))

    for emission in emissions:
        batch = open_batches.get(emission.device)
        if batch is not None and emission.at_ms > batch[0].at_ms + linger_ms:
            flush(emission.device, batch[0].at_ms + linger_ms)  # the linger timer fired
        open_batches.setdefault(emission.device, []).append(emission)
        if len(open_batches[emission.device]) == batch_size:
            flush(emission.device, emission.at_ms)
    for device in sorted(open_batches):
        flush(device, open_batches[device][0].at_ms + linger_ms)
    # Stable: a device's messages keep their order when flush times tie.
    messages.sort(key=lambda message: message.at_ms)
    return messages


def _split(device: str, at_ms: int, events: list[AnyEvent], max_bytes: int) -> list[Message]:
    payload = encode_events(events)
    if len(payload) <= max_bytes:
        return [Message(at_ms, device, tuple(events), payload)]
    if len(events) == 1:
        raise ValueError(f"one event from {device} is {len(payload)} bytes; limit {max_bytes}")
    half = len(events) // 2
    return _split(device, at_ms, events[:half], max_bytes) + _split(
        device, at_ms, events[half:], max_bytes
    )
