"""The live-state interface shared by ingest workers and the API.

Two implementations pass one contract suite: `memory.py` (one process, the embedded
default) and `redis.py` (shared by many workers; every update that must be atomic is one
Redis command or one Lua script).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import msgspec

from storesense.protocol.alerts import Alert
from storesense.registry.members import Member

EventKey = tuple[str, str, str]  # (store, device, event id)


class DeviceRecord(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    """What the service last heard on a device's retained `status` topic."""

    store: str
    device: str
    state: Literal["online", "offline"]
    ts_ms: int
    kind: str | None = None
    version: str | None = None
    received_ms: int = 0


class PresenceUpdate(msgspec.Struct, frozen=True):
    """Result of recording that a member was seen in a store."""

    new_visit: bool
    visit_start_ms: int
    # When this member was last seen in this store before the visit that just started.
    previous_visit_ms: int | None = None


class StateStore(Protocol):
    async def claim_events(self, keys: Sequence[EventKey], ttl_s: int) -> list[bool]:
        """Mark events as seen; True for each key seen for the first time (not a replay)."""
        ...

    async def put_device(self, record: DeviceRecord) -> None: ...

    async def devices(self, store: str | None = None) -> list[DeviceRecord]: ...

    async def put_members(self, members: Sequence[Member]) -> int:
        """Insert or replace members by id; return the new registry version."""
        ...

    async def members(self) -> list[Member]: ...

    async def member(self, member_id: str) -> Member | None: ...

    async def members_version(self) -> int:
        """A number that changes whenever the member registry changes."""
        ...

    async def touch_presence(
        self, store: str, member_id: str, ts_ms: int, gap_ms: int
    ) -> PresenceUpdate:
        """Record a sighting at event time `ts_ms`. A visit starts when the member had not
        been seen in the store for more than `gap_ms`; late sightings never start one."""
        ...

    async def add_alert(self, alert: Alert, keep: int = 10_000) -> None:
        """Store an alert, keeping the newest `keep` per store."""
        ...

    async def alerts(
        self, store: str | None = None, *, limit: int = 100, after_id: str | None = None
    ) -> list[Alert]:
        """Alerts in id (= time) order: the newest `limit`, or those after `after_id`."""
        ...

    async def ping(self) -> None:
        """Raise BackendUnavailable unless the backend answers."""
        ...

    async def close(self) -> None: ...
