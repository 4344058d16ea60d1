"""The live-state interface shared by ingest workers and the API.

Two implementations pass one contract suite: `memory.py` (one process, the embedded
default) and `redis.py` (shared by many workers; every update that must be atomic is one
Redis command or one Lua script).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal, Protocol, TypeVar

import msgspec

from storesense.protocol.alerts import Alert

EventKey = tuple[str, str, str]  # (store, device, event id)
T = TypeVar("T")

# A pure transition of one stored document: old bytes (None if absent) -> (new bytes, or
# None to delete; and a result for the caller). It may run more than once (optimistic
# concurrency), so it must not have side effects.
Transition = Callable[[bytes | None], tuple[bytes | None, T]]
# The same for one stored alert: the alert (None if unknown or trimmed) -> (the changed
# alert to store, or None to leave it; a result). Pure, for the same reason.
AlertTransition = Callable[[Alert | None], tuple[Alert | None, T]]


class DeviceRecord(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    """What the service last heard on a device's retained `status` topic."""

    store: str
    device: str
    state: Literal["online", "offline"]
    ts_ms: int
    kind: str | None = None
    version: str | None = None
    received_ms: int = 0


class StateStore(Protocol):
    async def claim_events(self, keys: Sequence[EventKey], ttl_s: int) -> list[bool]:
        """Mark events as seen; True for each key seen for the first time (not a replay)."""
        ...

    async def put_device(self, record: DeviceRecord) -> None: ...

    async def devices(self, store: str | None = None) -> list[DeviceRecord]: ...

    async def put_records(self, kind: str, records: Mapping[str, bytes]) -> int:
        """Insert or replace registry records (members, staff, products) by id; return the
        kind's new registry version."""
        ...

    async def delete_records(self, kind: str, record_ids: Sequence[str]) -> int:
        """Remove registry records by id; return the kind's new registry version."""
        ...

    async def records(self, kind: str) -> dict[str, bytes]: ...

    async def record(self, kind: str, record_id: str) -> bytes | None: ...

    async def records_version(self, kind: str) -> int:
        """A number that changes whenever records of `kind` change."""
        ...

    async def add_alert(self, alert: Alert, keep: int = 10_000) -> None:
        """Store an alert, keeping the newest `keep` per store."""
        ...

    async def alerts(
        self, store: str | None = None, *, limit: int = 100, after_id: str | None = None
    ) -> list[Alert]:
        """Alerts in id (= time) order: the newest `limit`, or those after `after_id`."""
        ...

    async def alert(self, alert_id: str) -> Alert | None:
        """One stored alert by id."""
        ...

    async def update_alert(self, alert_id: str, transition: AlertTransition[T]) -> T:
        """Atomically read, change and store one alert (concurrent changes never interleave:
        exactly one of two racing claims is applied); the change index and the lifecycle
        timer (`alert.due`) follow the stored alert."""
        ...

    async def alert_changes(
        self, store: str | None, since_ms: int, *, limit: int = 1000
    ) -> list[Alert]:
        """Alerts (latest version) whose last change was at or after `since_ms`, in change
        order: what a reconnecting live client missed."""
        ...

    async def due_alerts(self, now_ms: int, *, limit: int = 500) -> list[str]:
        """Ids of alerts whose `due` time has come (escalation, expiry), earliest first."""
        ...

    async def update(self, key: str, transition: Transition[T], ttl_s: int | None = None) -> T:
        """Atomically read, transform and write one document (concurrent updates of the
        same key never interleave); `ttl_s` sets its expiry on every write."""
        ...

    async def get(self, key: str) -> bytes | None:
        """One document as last written by `update`."""
        ...

    async def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        """All documents whose key starts with `prefix` (for boards and sweeps)."""
        ...

    async def ping(self) -> None:
        """Raise BackendUnavailable unless the backend answers."""
        ...

    async def close(self) -> None: ...
