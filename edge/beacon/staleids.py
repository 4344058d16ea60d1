"""Pick the current member-app ID when a scanner reports several for one device.

BlueZ keeps every service UUID a device ever advertised in the device's `UUIDs` property
until the device object goes away (about 30 s after it was last heard), and bleak reports
that property. A phone whose address outlives an ID rotation therefore shows its old ID
next to the new one for the rest of the visit. BlueZ only ever adds, so the ID first heard
most recently is the current one.
"""

from __future__ import annotations

from collections.abc import Sequence


class AppIdAges:
    """When each app ID was first heard from each (scanner, address)."""

    def __init__(self, forget_after: float) -> None:
        self.forget_after = forget_after
        self._first_heard: dict[tuple[str, str], dict[str, float]] = {}
        self._last_heard: dict[tuple[str, str], float] = {}

    def __len__(self) -> int:
        return len(self._first_heard)

    def current(
        self, scanner: str, address: str, app_ids: Sequence[str], now: float
    ) -> tuple[list[str], list[str]]:
        """Split the app IDs of one advertisement into (current, stale)."""
        if not address or not app_ids:
            return list(app_ids), []  # without an address there is nothing to tell them apart
        key = (scanner, address)
        first = self._first_heard.setdefault(key, {})
        self._last_heard[key] = now
        for app_id in app_ids:
            first.setdefault(app_id, now)
        for gone in [app_id for app_id in first if app_id not in app_ids]:
            del first[gone]
        newest = max(first[app_id] for app_id in app_ids)
        current = [app_id for app_id in app_ids if first[app_id] == newest]
        stale = [app_id for app_id in app_ids if first[app_id] != newest]
        return current, stale

    def expire(self, now: float) -> None:
        for key in [k for k, at in self._last_heard.items() if now - at > self.forget_after]:
            del self._last_heard[key]
            del self._first_heard[key]
