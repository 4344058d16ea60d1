"""What alert routing reads from the registry, cached, and the routing questions answered
registry first, then settings.

- Staff (roles, the stores they work in, their shifts) are reloaded when the staff
  registry's version changes (`StateStore.records_version("staff")`, bumped by every write:
  the API, CSV imports). So a shift a manager adds in the web app routes the next alert.
- Stores (timezone, locale) are registry documents without a version: each is re-read
  after `store_ttl_s` (5 s).

Precedence, per store (docs/alerts.md "Routing"):

- shifts: the registry's staff shifts in the store; a store with none there keeps the
  settings' `[[alerts.stores.<store>.shifts]]`;
- timezone and locale: the registry's store, else `[stores.<store>]`, else UTC / the default
  locale;
- managers: the settings' `alerts.stores.<store>.managers`, else staff with a manager role
  who work in the store, else (none tied to it) those tied to no store at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from rules.lifecycle.policy import MANAGER_ROLES, AlertPolicy, RouteShift
from storesense.backends.state.base import StateStore
from storesense.protocol.alerts import Audience
from storesense.registry.organisation import Locale, Store
from storesense.registry.staff import StaffMember
from storesense.registry.stores import load_store

_staff_decoder = msgspec.json.Decoder(StaffMember)


@dataclass(frozen=True)
class StaffSnapshot:
    """The staff registry at one version, arranged for routing."""

    version: int = -1
    roles: dict[str, str | None] = field(default_factory=dict)
    shifts: dict[str, tuple[RouteShift, ...]] = field(default_factory=dict)  # by store
    managers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # by store
    unassigned_managers: tuple[str, ...] = ()  # manager role, tied to no store

    @classmethod
    def of(cls, version: int, people: list[StaffMember]) -> StaffSnapshot:
        people = sorted(people, key=lambda person: person.staff_id)
        shifts: dict[str, list[RouteShift]] = {}
        managers: dict[str, list[str]] = {}
        unassigned: list[str] = []
        for person in people:
            for shift in person.shifts:
                shifts.setdefault(shift.store, []).append(
                    RouteShift((person.staff_id,), shift.days, shift.hours, shift.zones)
                )
            if (person.role or "").lower() not in MANAGER_ROLES:
                continue
            stores = dict.fromkeys([*person.stores, *(s.store for s in person.shifts)])
            for store in stores:
                managers.setdefault(store, []).append(person.staff_id)
            if not stores:
                unassigned.append(person.staff_id)
        return cls(
            version=version,
            roles={person.staff_id: person.role for person in people},
            shifts={store: tuple(found) for store, found in shifts.items()},
            managers={store: tuple(found) for store, found in managers.items()},
            unassigned_managers=tuple(unassigned),
        )


class Roster:
    """The registry's staff and stores as alert routing reads them, cached (module doc).
    One per process is enough; sharing it shares the cache."""

    def __init__(
        self,
        state: StateStore,
        *,
        check_interval_s: float = 0.0,
        store_ttl_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._state = state
        # 0: ask the staff registry's version on every use (one small read).
        self._check_interval_s = check_interval_s
        self._store_ttl_s = store_ttl_s
        self._clock = clock
        self._staff = StaffSnapshot()
        self._checked = float("-inf")
        self._stores: dict[str, tuple[float, Store | None]] = {}

    async def staff(self) -> StaffSnapshot:
        now = self._clock()
        if self._staff.version >= 0 and now - self._checked < self._check_interval_s:
            return self._staff
        version = await self._state.records_version("staff")
        if version != self._staff.version:
            records = await self._state.records("staff")
            people = [_staff_decoder.decode(raw) for raw in records.values()]
            self._staff = StaffSnapshot.of(version, people)
        self._checked = now
        return self._staff

    async def current(self) -> dict[str, str | None]:
        """Staff ids and their roles (who may claim: `StaffRoles`)."""
        return (await self.staff()).roles

    async def store(self, store_id: str) -> Store | None:
        """The store's registry document (None when the registry has no such store)."""
        now = self._clock()
        cached = self._stores.get(store_id)
        if cached is not None and now - cached[0] < self._store_ttl_s:
            return cached[1]
        found = await load_store(self._state, store_id)
        self._stores[store_id] = (now, found)
        return found

    async def locale(self, store_id: str) -> Locale | None:
        """The registry's locale of the store; None when it is not in the registry."""
        found = await self.store(store_id)
        return None if found is None else found.locale


class AlertRouting:
    """The policy's per-store questions with the registry first, then the settings."""

    def __init__(self, policy: AlertPolicy, roster: Roster) -> None:
        self.policy = policy
        self.roster = roster

    async def timezone(self, store: str) -> str:
        found = await self.roster.store(store)
        return self.policy.timezone(store, found.timezone if found is not None else None)

    async def shifts(self, store: str) -> tuple[RouteShift, ...]:
        """The registry's shifts in the store, else the settings' (possibly none)."""
        registry = (await self.roster.staff()).shifts.get(store)
        return registry if registry else self.policy.settings_shifts(store)

    async def has_shifts(self, store: str) -> bool:
        return bool(await self.shifts(store))

    async def is_quiet(self, store: str, now_ms: int) -> bool:
        return self.policy.is_quiet(store, now_ms, timezone=await self.timezone(store))

    async def on_shift(self, store: str, now_ms: int, zone: str | None = None) -> list[str]:
        return self.policy.on_shift(
            store, now_ms, zone, shifts=await self.shifts(store),
            timezone=await self.timezone(store),
        )  # fmt: skip

    async def staff_on_shift(self, store: str, now_ms: int) -> int | None:
        """How many are on shift now (the `traffic.surge` staff count); None when the store
        has no shifts, in the registry or the settings."""
        shifts = await self.shifts(store)
        if not shifts:
            return None
        timezone = await self.timezone(store)
        return len(self.policy.on_shift(store, now_ms, shifts=shifts, timezone=timezone))

    async def managers(self, store: str) -> list[str]:
        snapshot = await self.roster.staff()
        registry = snapshot.managers.get(store) or snapshot.unassigned_managers
        return self.policy.managers(store, registry=registry)

    async def targets(
        self, store: str, zone: str | None, audience: Audience, now_ms: int
    ) -> list[str]:
        """Staff ids an alert is for; empty means everyone in the store."""
        if audience == "manager":
            return await self.managers(store)
        return await self.on_shift(store, now_ms, zone)
