"""The rule engine: what ingest calls. `on_events` runs the event-driven rules on a message's
fresh events (and keeps the read model), `tick` the time-based ones for one store; both
return drafts for the raiser. Each rule is a pure function in its own module; the engine
only gathers their inputs.

Several ingest workers may evaluate the same store: every draft carries a stable
(rule, subject), and the raiser raises one alert per (store, rule, subject).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import msgspec

from ingest.identity import Directory
from ingest.member_refs import sale_member
from rules import custom, devices, fitting_room, merchandise, traffic
from rules.drafts import AlertDraft
from rules.lifecycle.policy import AlertPolicy
from rules.lifecycle.roster import AlertRouting, Roster
from rules.member_arrived import (
    MemberArrivedParams,
    MemberReturningParams,
    MemberSighting,
    member_arrived,
    member_returning,
)
from rules.params import RuleParams, RulesConfig, store_timezone
from rules.readmodel import ReadModel, day_of, hour_of, hour_start_ms, stock_zone
from storesense.backends.state.base import StateStore
from storesense.backends.timeseries.base import Point
from storesense.errors import ConfigError
from storesense.protocol.decode import AcceptedEvent
from storesense.protocol.events import BeaconSighting, DoorCrossing, PosSale, RfidTag
from storesense.registry.members import Member
from storesense.settings import IngestSettings

log = logging.getLogger(__name__)

_decode_fields = msgspec.json.Decoder(dict[str, Any]).decode


def overrides_key(store: str) -> str:
    """Where the API keeps a store's parameter overrides (a JSON object)."""
    return f"rules:overrides:{store}"


class RuleEngine:
    def __init__(
        self,
        state: StateStore,
        config: RulesConfig | None = None,
        *,
        fitting_room_prefix: str = "fitting-room",
        overrides_ttl_s: float = 5.0,
        device_write_every_s: int = 30,
        clock: Callable[[], float] = time.monotonic,
        policy: AlertPolicy | None = None,
        registry_check_s: float = 1.0,
    ) -> None:
        self._state = state
        # With the alert policy, the stores' timezone (unless the rules file sets one) and
        # shifts, as alerts read them: the registry's (its staff version checked at most every
        # `registry_check_s`, its stores re-read every few seconds), else the settings'.
        self._routing = (
            None
            if policy is None
            else AlertRouting(policy, Roster(state, check_interval_s=registry_check_s, clock=clock))
        )
        self.config = config or RulesConfig()
        self._prefix = fitting_room_prefix
        self._read = ReadModel(state, fitting_room_prefix)
        self._overrides_ttl_s = overrides_ttl_s
        self._device_every_ms = device_write_every_s * 1000
        self._clock = clock
        self._params: dict[str, tuple[float, RuleParams]] = {}

    @classmethod
    def from_settings(
        cls, state: StateStore, settings: IngestSettings, policy: AlertPolicy | None = None
    ) -> RuleEngine:
        return cls(
            state,
            RulesConfig.load(settings.rules_path),
            fitting_room_prefix=settings.fitting_room_prefix,
            policy=policy,
        )

    async def params(self, store: str) -> RuleParams:
        """The store's parameters: the file, then API overrides (re-read every few seconds)."""
        cached = self._params.get(store)
        now = self._clock()
        if cached is not None and now - cached[0] < self._overrides_ttl_s:
            return cached[1]
        raw = await self._state.get(overrides_key(store))
        overrides = msgspec.json.decode(raw) if raw else None
        try:
            params = self.config.params_for(store, overrides)
        except (ConfigError, msgspec.DecodeError) as exc:  # a bad one must not stop ingest
            log.error("rule overrides ignored store=%s error=%s", store, exc)
            params = self.config.params_for(store)
        if self._routing is not None:
            params = store_timezone(params, await self._routing.timezone(store))
        self._params[store] = (now, params)
        return params

    # -- event-driven rules ------------------------------------------------------------------

    async def on_events(
        self,
        events: Sequence[AcceptedEvent],
        sightings: Sequence[MemberSighting],
        points: Sequence[Point],
        directory: Directory,
        now_ms: int,
    ) -> list[AlertDraft]:
        """Rules on one message: `events` are its fresh events, `sightings` the members it
        showed, `points` every fact it produced (replays included: kept idempotently)."""
        drafts: list[AlertDraft] = []
        for sighting in sightings:
            drafts.extend(await self._member(sighting, directory, now_ms))
        if points:
            for store in {p.tags.get("store", "") for p in points} - self._params.keys():
                if store:  # its timezone known (`_timezone_now`)
                    await self.params(store)
            await self._read.record_facts(points, self._timezone_now)
        by_store: dict[str, list[AcceptedEvent]] = {}
        for accepted in events:
            by_store.setdefault(accepted.store, []).append(accepted)
        for store, store_events in by_store.items():
            drafts.extend(await self._store_events(store, store_events, directory, now_ms))
        return drafts

    async def _member(
        self, sighting: MemberSighting, directory: Directory, now_ms: int
    ) -> list[AlertDraft]:
        if not sighting.new_visit or not sighting.member.consent:
            return []
        params = await self.params(sighting.store)
        found: list[AlertDraft | None] = []
        arrived = params.member_arrived
        if arrived.enabled:
            profile = await self._read.profile(
                sighting.store, sighting.member.member_id, sighting.visit_start_ms, directory
            )
            found.append(
                member_arrived(
                    replace(sighting, profile=profile),
                    MemberArrivedParams(_tiers(arrived.tiers), arrived.max_age_s),
                    now_ms,
                )
            )
        returning = params.member_returning
        if returning.enabled:
            returning_params = MemberReturningParams(
                returning.absent_days, _tiers(returning.tiers), returning.max_age_s
            )
            found.append(member_returning(sighting, returning_params, now_ms))
        return [draft for draft in found if draft is not None]

    async def _store_events(
        self, store: str, events: list[AcceptedEvent], directory: Directory, now_ms: int
    ) -> list[AlertDraft]:
        params = await self.params(store)
        # Old events (history, an outbox catching up) still keep the read model up to date.
        newest_ms = max(accepted.event.ts_ms for accepted in events)
        actionable = now_ms - newest_ms <= params.max_age_s * 1000
        rules = [rule for rule in self.config.custom_for(store) if rule.enabled]
        drafts: list[AlertDraft] = []
        entries: list[tuple[int, int]] = []
        rooms: set[str] = set()  # fitting rooms a garment entered
        tried: dict[str, int] = {}  # gtins carried into a fitting room -> when
        newest: dict[str, int] = {}
        for accepted in events:
            event = accepted.event
            newest[accepted.device] = max(event.ts_ms, newest.get(accepted.device, 0))
            member: Member | None = None
            if isinstance(event, DoorCrossing):
                if event.direction == "in":
                    entries.append((event.ts_ms, event.count))
            elif isinstance(event, RfidTag):
                tag = directory.tag(event.epc)
                member = tag.member
                if tag.staff is not None:
                    await self._read.record_staff(store, tag.staff.staff_id, event.ts_ms)
                elif tag.kind == "garment" and tag.gtin is not None:
                    if stock_zone(event.zone):  # floor and backroom readers: where stock is
                        if event.action == "leave":
                            await self._read.record_leave(
                                store, event.epc, tag.gtin, event.zone, event.ts_ms
                            )
                        else:
                            await self._read.record_stock(
                                store, event.epc, tag.gtin, event.zone, event.ts_ms
                            )
                    elif event.action == "enter" and event.zone.startswith(self._prefix):
                        rooms.add(event.zone)
                        tried[tag.gtin] = max(event.ts_ms, tried.get(tag.gtin, 0))
            elif isinstance(event, BeaconSighting):
                staff = directory.staff_beacon(event.beacon)
                if staff is not None:
                    await self._read.record_staff(store, staff.staff_id, event.ts_ms)
                elif event.is_app_id:
                    member = directory.members.by_app_id(event.beacon, event.ts_ms)
            elif isinstance(event, PosSale):
                member = sale_member(event, directory)
                for item in event.items:
                    if item.epc is not None:
                        tag = directory.tag(item.epc)
                        if tag.gtin is not None:
                            await self._read.record_stock(
                                store, item.epc, tag.gtin, None, event.ts_ms
                            )
            if rules:
                drafts.extend(await self._custom(rules, accepted, member))
        found: list[AlertDraft | None] = []
        if params.fitting_room_help.enabled:
            for zone in rooms:
                room = await self._read.room(store, zone, directory)
                if room is not None:
                    found.append(fitting_room.help_needed(store, room, params.fitting_room_help))
        if params.restock.enabled:
            for gtin, ts_ms in tried.items():
                stock = await self._read.stock(store, gtin, directory.product(gtin))
                day = day_of(ts_ms, params.timezone)
                found.append(merchandise.restock(store, stock, params.restock, ts_ms, day))
        if entries:
            found.append(await self._traffic(store, entries, params))
        await self._read.record_devices(store, newest, self._device_every_ms)
        if not actionable:
            return []
        return drafts + [draft for draft in found if draft is not None]

    async def _traffic(
        self, store: str, entries: list[tuple[int, int]], params: RuleParams
    ) -> AlertDraft | None:
        doc = await self._read.record_entries(store, entries, params.timezone)
        surge = params.traffic_surge
        if not surge.enabled:
            return None
        now_ms = max(ts for ts, _ in entries)
        staff = surge.staff_on_shift
        if staff is None and self._routing is not None:  # the shifts alerts go to
            staff = await self._routing.staff_on_shift(store, now_ms)
        if staff is None:
            staff = await self._read.staff_on_shift(store, now_ms)
        view = self._read.traffic(doc, now_ms, surge.window_min, params.timezone, staff)
        hour_ms = hour_start_ms(now_ms, params.timezone)
        return traffic.surge(store, view, surge, hour_ms, hour_of(now_ms, params.timezone))

    async def _custom(
        self, rules: list[custom.CustomRule], accepted: AcceptedEvent, member: Member | None
    ) -> list[AlertDraft]:
        event = accepted.event
        try:
            fields = _decode_fields(accepted.raw)
        except msgspec.DecodeError:
            fields = {}
        facts = custom.EventFacts(
            store=accepted.store,
            device=accepted.device,
            type=event.type,
            ts_ms=event.ts_ms,
            zone=getattr(event, "zone", None),
            fields=fields,
            member=member,
        )
        drafts = []
        for rule in rules:
            if not custom.matches(rule, facts):
                continue
            count = rule.count
            if count is None:
                drafts.append(custom.custom_draft(rule, facts))
                continue
            key = f"rules:window:{facts.store}:{rule.id}:{custom.group_of(rule, facts)}"

            def transition(
                old: bytes | None, count: custom.Count = count
            ) -> tuple[bytes | None, tuple[int, int] | None]:
                window = (
                    custom.Window() if old is None else msgspec.json.decode(old, type=custom.Window)
                )
                fired = custom.count_in_window(window, facts.ts_ms, count)
                return msgspec.json.encode(window), fired

            ttl_s = int(count.within_min * 60) + 60
            fired = await self._state.update(key, transition, ttl_s=ttl_s)
            if fired is not None:
                drafts.append(custom.custom_draft(rule, facts, fired[0], fired[1]))
        return drafts

    # -- time-based rules ----------------------------------------------------------------------

    async def tick(
        self,
        store: str,
        now_ms: int,
        directory: Directory | None = None,
        wall_ms: int | None = None,
    ) -> list[AlertDraft]:
        """The time-based rules of one store at `now_ms` (the store's event time); nothing
        when that is more than `max_age_s` behind `wall_ms` (history being replayed)."""
        params = await self.params(store)
        if wall_ms is not None and wall_ms - now_ms > params.max_age_s * 1000:
            return []
        found: list[AlertDraft | None] = []
        if params.fitting_room_unattended.enabled:
            for room in await self._read.rooms(store):
                if room.zone.startswith(self._prefix):
                    found.append(
                        fitting_room.unattended(store, room, params.fitting_room_unattended, now_ms)
                    )
        if params.sku_tried_not_bought.enabled:
            day = day_of(now_ms, params.timezone)
            for sku in await self._read.skus(store, day, directory):
                found.append(
                    merchandise.tried_not_bought(store, sku, params.sku_tried_not_bought, now_ms)
                )
        if params.device_silent.enabled:
            for device in await self._read.devices(store):
                found.append(devices.device_down(store, device, params.device_silent, now_ms))
        return [draft for draft in found if draft is not None]

    def _timezone_now(self, store: str) -> str:
        cached = self._params.get(store)
        if cached is not None:
            return cached[1].timezone
        params = self.config.params_for(store)
        if self._routing is None:
            return params.timezone
        return store_timezone(params, self._routing.policy.timezone(store)).timezone


def _tiers(tiers: list[str] | None) -> frozenset[str] | None:
    return None if tiers is None else frozenset(tiers)
