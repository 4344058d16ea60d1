"""In-process state: the embedded default for one box. Not shared between processes."""

from __future__ import annotations

import bisect
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

from storesense.backends.state.base import (
    AlertTransition,
    DeviceRecord,
    EventKey,
    T,
    Transition,
)
from storesense.protocol.alerts import Alert, changed_ms


class MemoryState:
    """StateStore kept in dicts. Dedupe keys are bounded: past `max_event_keys` the oldest
    are forgotten first (a replay older than that would be accepted again)."""

    def __init__(
        self, max_event_keys: int = 2_000_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock  # seconds, for expiries (tests pass a fake one)
        self._seen: OrderedDict[EventKey, float] = OrderedDict()
        self._max_event_keys = max_event_keys
        self._devices: dict[tuple[str, str], DeviceRecord] = {}
        self._records: dict[str, dict[str, bytes]] = {}
        self._versions: dict[str, int] = {}
        self._alerts: dict[str, list[str]] = {}  # store -> sorted alert ids
        self._alert_by_id: dict[str, Alert] = {}
        self._alert_due: dict[str, int] = {}  # alert id -> epoch ms of its next timed change
        self._docs: dict[str, tuple[bytes, float | None]] = {}  # key -> (value, expiry)

    async def claim_events(self, keys: Sequence[EventKey], ttl_s: int) -> list[bool]:
        now = self._clock()
        results = []
        for key in keys:
            expiry = self._seen.get(key)
            if expiry is not None and expiry > now:
                results.append(False)
                continue
            self._seen[key] = now + ttl_s
            self._seen.move_to_end(key)
            results.append(True)
        while len(self._seen) > self._max_event_keys:
            self._seen.popitem(last=False)
        return results

    async def put_device(self, record: DeviceRecord) -> None:
        self._devices[(record.store, record.device)] = record

    async def devices(self, store: str | None = None) -> list[DeviceRecord]:
        return sorted(
            (r for r in self._devices.values() if store is None or r.store == store),
            key=lambda r: (r.store, r.device),
        )

    async def put_records(self, kind: str, records: Mapping[str, bytes]) -> int:
        self._records.setdefault(kind, {}).update(records)
        self._versions[kind] = self._versions.get(kind, 0) + 1
        return self._versions[kind]

    async def delete_records(self, kind: str, record_ids: Sequence[str]) -> int:
        stored = self._records.setdefault(kind, {})
        for record_id in record_ids:
            stored.pop(record_id, None)
        self._versions[kind] = self._versions.get(kind, 0) + 1
        return self._versions[kind]

    async def records(self, kind: str) -> dict[str, bytes]:
        return dict(self._records.get(kind, {}))

    async def record(self, kind: str, record_id: str) -> bytes | None:
        return self._records.get(kind, {}).get(record_id)

    async def records_version(self, kind: str) -> int:
        return self._versions.get(kind, 0)

    async def add_alert(self, alert: Alert, keep: int = 10_000) -> None:
        ids = self._alerts.setdefault(alert.store, [])
        if alert.id not in self._alert_by_id:
            bisect.insort(ids, alert.id)
        self._store_alert(alert)
        while len(ids) > keep:
            old = ids.pop(0)
            del self._alert_by_id[old]
            self._alert_due.pop(old, None)

    def _store_alert(self, alert: Alert) -> None:
        self._alert_by_id[alert.id] = alert
        if alert.due is None:
            self._alert_due.pop(alert.id, None)
        else:
            self._alert_due[alert.id] = alert.due

    async def alert(self, alert_id: str) -> Alert | None:
        return self._alert_by_id.get(alert_id)

    async def update_alert(self, alert_id: str, transition: AlertTransition[T]) -> T:
        # One event loop and a synchronous transition: nothing can interleave.
        new, result = transition(self._alert_by_id.get(alert_id))
        if new is not None and alert_id in self._alert_by_id:
            self._store_alert(new)
        return result

    async def alert_changes(
        self, store: str | None, since_ms: int, *, limit: int = 1000
    ) -> list[Alert]:
        found = [
            alert
            for alert in self._alert_by_id.values()
            if (store is None or alert.store == store) and changed_ms(alert) >= since_ms
        ]
        found.sort(key=lambda a: (changed_ms(a), a.id))
        return found[:limit]

    async def due_alerts(self, now_ms: int, *, limit: int = 500) -> list[str]:
        due = sorted((at, alert_id) for alert_id, at in self._alert_due.items() if at <= now_ms)
        return [alert_id for _, alert_id in due[:limit]]

    async def alerts(
        self, store: str | None = None, *, limit: int = 100, after_id: str | None = None
    ) -> list[Alert]:
        if store is None:
            ids = sorted(i for store_ids in self._alerts.values() for i in store_ids)
        else:
            ids = self._alerts.get(store, [])
        if after_id is not None:
            chosen = ids[bisect.bisect_right(ids, after_id) :][:limit]
        else:
            chosen = ids[-limit:] if limit > 0 else []
        return [self._alert_by_id[i] for i in chosen]

    async def update(self, key: str, transition: Transition[T], ttl_s: int | None = None) -> T:
        # One event loop, and the transition is synchronous: nothing can interleave.
        new, result = transition(self._live_doc(key))
        if new is None:
            self._docs.pop(key, None)
        else:
            self._docs[key] = (new, self._clock() + ttl_s if ttl_s else None)
        return result

    async def get(self, key: str) -> bytes | None:
        return self._live_doc(key)

    async def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        found = []
        for key in sorted(self._docs):
            if key.startswith(prefix):
                value = self._live_doc(key)
                if value is not None:
                    found.append((key, value))
        return found

    def _live_doc(self, key: str) -> bytes | None:
        entry = self._docs.get(key)
        if entry is None:
            return None
        value, expiry = entry
        if expiry is not None and expiry <= self._clock():
            del self._docs[key]
            return None
        return value

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
