"""The device's retained `status` message (online, offline, heartbeat), with the runtime's
counters as extra optional fields (the protocol keeps unknown fields)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from storesense.protocol.events import DeviceStatus, encode_status


class EdgeStatus(DeviceStatus, kw_only=True, omit_defaults=True):
    """`DeviceStatus` plus what a fleet dashboard wants from an edge box."""

    outbox_depth: int | None = None  # events on disk waiting for a PUBACK
    outbox_bytes: int | None = None
    dropped: int | None = None  # events the outbox cap dropped, ever (persisted)
    published: int | None = None  # events acknowledged by the broker since start
    uptime_s: float | None = None


@dataclass(frozen=True, slots=True)
class RuntimeCounters:
    outbox_depth: int
    outbox_bytes: int
    dropped: int
    published: int
    uptime_s: float


def status_payload(
    state: Literal["online", "offline"],
    kind: str,
    version: str,
    counters: RuntimeCounters | None = None,
    now_ms: int | None = None,
) -> bytes:
    """Encode a status message; with `counters` it is a heartbeat."""
    ts = int(time.time() * 1000) if now_ms is None else now_ms
    if counters is None:
        return encode_status(DeviceStatus(state=state, ts=ts, kind=kind, version=version))
    return encode_status(
        EdgeStatus(
            state=state,
            ts=ts,
            kind=kind,
            version=version,
            outbox_depth=counters.outbox_depth,
            outbox_bytes=counters.outbox_bytes,
            dropped=counters.dropped,
            published=counters.published,
            uptime_s=round(counters.uptime_s, 1),
        )
    )
