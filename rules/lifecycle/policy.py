"""Per-store alert policy from settings: timings, cooldowns, quiet hours, shifts, routing.

Pure: every question takes the time it is asked for. Times of day are in the store's
timezone; windows may wrap midnight (`22:00-08:00`). What the registry knows (its staff
shifts, the store's timezone) is passed in by `rules/lifecycle/roster.py`, which reads it
and falls back on these settings (`stores.<store>.timezone`, `alerts.stores.<store>.shifts`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from fnmatch import fnmatchcase
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storesense.protocol.alerts import Audience
from storesense.settings import WEEKDAYS, AlertSettings, Settings, StoreAlertSettings

MANAGER_ROLES = frozenset({"manager", "store_manager", "supervisor"})


class RouteShift(NamedTuple):
    """A shift as routing reads it, from the settings (several staff) or the registry (one
    person's shift in a store)."""

    staff: tuple[str, ...]
    days: Sequence[str]
    hours: str  # HH:MM-HH:MM, store-local
    zones: Sequence[str]  # globs; empty = every zone


def parse_window(window: str) -> tuple[int, int]:
    """`HH:MM-HH:MM` -> (start, end) in minutes of the day; end may be 1440."""
    start, end = window.split("-")
    return _minutes(start), _minutes(end)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def in_window(minute: int, window: tuple[int, int]) -> bool:
    start, end = window
    if start <= end:
        return start <= minute < end
    return minute >= start or minute < end  # wraps midnight


class AlertPolicy:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._alerts: AlertSettings = settings.alerts
        self._zones: dict[str, ZoneInfo] = {}

    def _store(self, store: str) -> StoreAlertSettings:
        return self._alerts.stores.get(store) or StoreAlertSettings()

    def escalate_after_ms(self, store: str) -> int:
        return 1000 * (self._store(store).escalate_after_s or self._alerts.escalate_after_s)

    def expire_after_ms(self, store: str) -> int:
        return 1000 * (self._store(store).expire_after_s or self._alerts.expire_after_s)

    def cooldown_ms(self, rule: str) -> int:
        return 1000 * self._alerts.cooldown_by_rule.get(rule, self._alerts.cooldown_s)

    def timezone(self, store: str, registry: str | None = None) -> str:
        """The store's timezone: `registry` (the registry's, when it has the store), else
        `stores.<store>.timezone`; UTC when unset or unknown."""
        return self._zone(store, registry).key

    def _zone(self, store: str, registry: str | None = None) -> ZoneInfo:
        if registry is not None:
            return _zone_named(registry, self._zones)
        configured = self._settings.stores.get(store)
        return _zone_named(configured.timezone if configured else "UTC", self._zones)

    def _local(self, store: str, now_ms: int, timezone: str | None = None) -> datetime:
        return datetime.fromtimestamp(now_ms / 1000, self._zone(store, timezone))

    def is_quiet(self, store: str, now_ms: int, *, timezone: str | None = None) -> bool:
        """Inside the store's quiet hours: alerts are stored but not pushed. `timezone`:
        the registry's for the store, if any."""
        windows = self._store(store).quiet_hours
        if windows is None:
            windows = self._alerts.quiet_hours
        if not windows:
            return False
        local = self._local(store, now_ms, timezone)
        minute = local.hour * 60 + local.minute
        return any(in_window(minute, parse_window(w)) for w in windows)

    def settings_shifts(self, store: str) -> tuple[RouteShift, ...]:
        """The store's shifts in settings (`[[alerts.stores.<store>.shifts]]`)."""
        return tuple(
            RouteShift(tuple(s.staff), s.days, s.hours, s.zones) for s in self._store(store).shifts
        )

    def has_shifts(self, store: str) -> bool:
        """Whether the settings give the store shifts (the registry's: `AlertRouting`)."""
        return bool(self._store(store).shifts)

    def on_shift(
        self,
        store: str,
        now_ms: int,
        zone: str | None = None,
        *,
        shifts: Sequence[RouteShift] | None = None,
        timezone: str | None = None,
    ) -> list[str]:
        """Staff on shift now; with a zone, those whose shift covers it (all on shift if no
        shift names the zone). Empty when the store has no shifts. `shifts` and `timezone`:
        the registry's for the store (`AlertRouting`); unset, the settings'."""
        if shifts is None:
            shifts = self.settings_shifts(store)
        if not shifts:
            return []
        local = self._local(store, now_ms, timezone)
        minute = local.hour * 60 + local.minute
        day = WEEKDAYS[local.weekday()]
        working = [s for s in shifts if day in s.days and in_window(minute, parse_window(s.hours))]
        covering = [s for s in working if zone is not None and _covers(s.zones, zone)]
        chosen = covering or [s for s in working if not s.zones] or working
        return _unique(staff for shift in chosen for staff in shift.staff)

    def managers(
        self,
        store: str,
        roles: dict[str, str | None] | None = None,
        *,
        registry: Sequence[str] = (),
    ) -> list[str]:
        """Who escalations go to: the store's configured managers, else the registry's
        managers for the store (`registry`, chosen by `AlertRouting`), else staff whose
        registry role (`roles`) is a manager's."""
        configured = self._store(store).managers
        if configured:
            return list(configured)
        if registry:
            return list(registry)
        return sorted(
            s for s, role in (roles or {}).items() if (role or "").lower() in MANAGER_ROLES
        )

    def targets(
        self,
        store: str,
        zone: str | None,
        audience: Audience,
        now_ms: int,
        roles: dict[str, str | None],
    ) -> list[str]:
        """Staff ids an alert is for by the settings alone; empty means everyone in the
        store. Alerts are routed by `AlertRouting.targets` (registry first)."""
        if audience == "manager":
            return self.managers(store, roles)
        return self.on_shift(store, now_ms, zone)


def _zone_named(name: str, cache: dict[str, ZoneInfo]) -> ZoneInfo:
    zone = cache.get(name)
    if zone is None:
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            zone = ZoneInfo("UTC")
        cache[name] = zone
    return zone


def _covers(patterns: Sequence[str], zone: str) -> bool:
    return any(fnmatchcase(zone, pattern) for pattern in patterns)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
