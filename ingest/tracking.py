"""Apply accepted events to store state (fitting rooms, member visits, tried garments) and
return the derived facts. Each state change is one atomic document update in the state
store, so any number of workers can share a store's events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

import msgspec

from ingest import conversions, facts, fitting_rooms, visits
from ingest.identity import Directory
from ingest.member_refs import sale_member
from rules.member_arrived import SightingSource
from storesense.backends.state.base import StateStore
from storesense.backends.timeseries.base import Point
from storesense.protocol.decode import AcceptedEvent
from storesense.protocol.events import BeaconSighting, PosSale, RfidTag
from storesense.protocol.sgtin import InvalidSgtin, decode_sgtin96
from storesense.registry.members import Member
from storesense.settings import IngestSettings

S = TypeVar("S", bound=msgspec.Struct)
R = TypeVar("R")

_DAY_S = 86_400
_visit_decoder = msgspec.json.Decoder(visits.MemberVisit)
_index_decoder = msgspec.json.Decoder(dict[str, int])
_LAST_VISIT_TTL_S = 400 * _DAY_S


@dataclass(frozen=True, slots=True)
class MemberSeen:
    """A consenting member was seen; what it meant for their visit."""

    store: str
    member: Member
    ts_ms: int
    zone: str | None
    source: SightingSource
    result: visits.SightingResult
    replay: bool = False  # from a redelivered event: facts again, but no alert


@dataclass
class Tracked:
    points: list[Point] = field(default_factory=list)
    seen: list[MemberSeen] = field(default_factory=list)


class Tracker:
    def __init__(self, state: StateStore, settings: IngestSettings) -> None:
        self._state = state
        self._settings = settings
        self._gap_ms = settings.visit_gap_s * 1000
        self._replay = False

    def is_fitting_room(self, zone: str | None) -> bool:
        return zone is not None and zone.startswith(self._settings.fitting_room_prefix)

    async def apply(
        self, accepted: AcceptedEvent, directory: Directory, out: Tracked, replay: bool = False
    ) -> None:
        """Apply one event. Applying it again (`replay`) changes no state and yields the
        same facts, so a redelivered event repairs facts a killed worker never stored."""
        event = accepted.event
        store = accepted.store
        self._replay = replay
        if isinstance(event, BeaconSighting):
            member = None
            if event.is_app_id:
                member = directory.members.by_app_id(event.beacon, event.ts_ms)
            if member is not None:
                await self._member_seen(store, member, event.ts_ms, event.zone, "app", out)
                if self.is_fitting_room(event.zone):
                    member_id = member.member_id
                    await self._room(
                        f"room:{store}:{event.zone}",
                        lambda r: fitting_rooms.member_inside(r, member_id),
                    )
        elif isinstance(event, RfidTag):
            await self._rfid(store, event, directory, out)
        elif isinstance(event, PosSale):
            await self._sale(store, event, directory, out)

    async def sweep(self, store: str, now_ms: int) -> list[Point]:
        """Close visits of `store` whose member has not been seen for the visit gap.

        Open visits are found through the store's visit index (`visits:{store}`: member →
        a time at or before the visit's last sighting), so only visits that may be over are
        read. Without an index (first sweep, or a store idle for a day) the state is
        scanned once and the index rebuilt: a scan walks every key of the state store
        (dedupe keys included), which had made each sweep hold the event loop for 100s of
        ms and grow with traffic."""
        index_raw = await self._state.get(_index_key(store))
        if index_raw is None:
            candidates: list[tuple[str, bytes | None, int]] = [
                (key[len(f"visit:{store}:") :], raw, now_ms)
                for key, raw in await self._state.scan(f"visit:{store}:")
            ]
            await self._index_rebuild(store, candidates)
        else:
            candidates = []
            for member_id, since_ms in _index_decoder.decode(index_raw).items():
                if now_ms - since_ms > self._gap_ms:  # may be over: look at the visit
                    raw = await self._state.get(f"visit:{store}:{member_id}")
                    candidates.append((member_id, raw, since_ms))
        ended: list[Point] = []
        stale: dict[str, int] = {}  # member -> drop an entry not newer than this
        refreshed: dict[str, int] = {}
        for member_id, raw, since_ms in candidates:
            seen = None if raw is None else _visit_decoder.decode(raw)
            if seen is not None and not seen.closed and now_ms - seen.last_seen_ms <= self._gap_ms:
                refreshed[member_id] = seen.last_seen_ms  # still going: not before then
                continue
            if seen is None:  # expired
                stale[member_id] = since_ms
                continue
            if not seen.closed:
                # The update checks again, atomically: another worker may have seen them.
                closing = await self._update(
                    f"visit:{store}:{member_id}", visits.MemberVisit,
                    lambda v: (visits.close_if_over(v, now_ms, self._gap_ms), v), ttl_s=_DAY_S,
                )  # fmt: skip
                if closing is None:  # expired meanwhile
                    stale[member_id] = since_ms
                    continue
                summary, seen = closing
                if summary is not None:
                    ended.append(facts.visit_end(store, summary))
                    await self._remember_last_visit(store, summary)
                elif not seen.closed:  # seen again meanwhile: still going
                    refreshed[member_id] = seen.last_seen_ms
                    continue
            stale[member_id] = seen.last_seen_ms
        if stale or refreshed:
            await self._index_change(store, refreshed, stale)
        return ended

    async def _index_add(self, store: str, member_id: str, since_ms: int) -> None:
        await self._index_change(store, {member_id: since_ms}, {})

    async def _index_change(
        self, store: str, refresh: dict[str, int], drop: dict[str, int]
    ) -> None:
        """Raise entries to `refresh` times (never lower them), and drop entries that are
        not newer than the visit the sweep closed (a visit started meanwhile, by another
        worker, has a newer entry and stays)."""

        def transition(old: bytes | None) -> tuple[bytes | None, None]:
            index = {} if old is None else _index_decoder.decode(old)
            for member_id, since_ms in refresh.items():
                index[member_id] = max(since_ms, index.get(member_id, since_ms))
            for member_id, last_ms in drop.items():
                if index.get(member_id, last_ms + 1) <= last_ms:
                    del index[member_id]
            return msgspec.json.encode(index), None

        await self._state.update(_index_key(store), transition, ttl_s=_DAY_S)

    async def _index_rebuild(self, store: str, found: list[tuple[str, bytes | None, int]]) -> None:
        entries = {}
        for member_id, raw, _ in found:
            if raw is not None and not (seen := _visit_decoder.decode(raw)).closed:
                entries[member_id] = seen.start_ms
        await self._index_change(store, entries, {})

    async def _rfid(self, store: str, event: RfidTag, directory: Directory, out: Tracked) -> None:
        room_key = f"room:{store}:{event.zone}" if self.is_fitting_room(event.zone) else None
        member = directory.members.by_card(event.epc)
        if member is not None:
            if event.action == "enter":
                await self._member_seen(store, member, event.ts_ms, event.zone, "card", out)
                if room_key:
                    member_id = member.member_id
                    await self._room(room_key, lambda r: fitting_rooms.member_inside(r, member_id))
            return
        if room_key is None:
            return  # staff and garments matter in fitting rooms only: no need to resolve it
        tag = directory.tag(event.epc)
        if tag.kind == "staff" and tag.staff is not None:
            staff_id = tag.staff.staff_id
            if event.action == "enter":
                ts_ms = event.ts_ms
                await self._room(room_key, lambda r: fitting_rooms.staff_enter(r, staff_id, ts_ms))
            else:
                await self._room(room_key, lambda r: fitting_rooms.staff_leave(r, staff_id))
            return
        if tag.kind != "garment" or tag.gtin is None:
            return
        gtin = tag.gtin
        if event.action == "enter":
            change = await self._room(
                room_key, lambda r: fitting_rooms.garment_enter(r, event.epc, gtin, event.ts_ms)
            )
        else:
            change = await self._room(
                room_key, lambda r: fitting_rooms.garment_leave(r, event.epc, event.ts_ms)
            )
        if change.try_on is not None:
            await self._tried(store, event.zone, change.try_on, directory, out)
        if change.ended is not None:
            out.points.append(facts.fitting_session(store, event.zone, change.ended))

    async def _tried(
        self, store: str, zone: str, tried: fitting_rooms.TryOn, directory: Directory,
        out: Tracked,
    ) -> None:  # fmt: skip
        out.points.append(facts.try_on(store, zone, tried, directory.product(tried.gtin)))
        converted = await self._state.update(
            f"tried:{store}:{tried.epc}",
            _upsert(
                conversions.GarmentRecord,
                lambda record: conversions.mark_tried(
                    record, tried.epc, tried.gtin, zone, tried.ts_ms, tried.member_id
                ),
            ),
            ttl_s=self._settings.conversion_window_s,
        )
        if converted is not None:
            out.points.append(facts.conversion(store, converted))
        if tried.member_id is not None:
            await self._update(
                f"visit:{store}:{tried.member_id}", visits.MemberVisit,
                lambda v: visits.add_tried(v, tried.gtin), ttl_s=_DAY_S,
            )  # fmt: skip

    async def _sale(self, store: str, event: PosSale, directory: Directory, out: Tracked) -> None:
        member = sale_member(event, directory)
        if member is not None:
            await self._member_seen(store, member, event.ts_ms, None, "sale", out)
        gtins: list[str] = []
        for index, item in enumerate(event.items):
            gtin = item.gtin or _gtin_of(item.epc)
            if gtin is None:
                continue  # an EPC that is no SGTIN and no GTIN given: not a product we know
            gtins.append(gtin)
            point = facts.sale_item(
                store, event.sale_id, index, gtin, item.epc, item.qty, item.price,
                event.ts_ms, member.member_id if member else None,
            )  # fmt: skip
            out.points.append(point)
            if item.epc is None:
                continue
            converted = await self._state.update(
                f"tried:{store}:{item.epc}",
                _upsert(
                    conversions.GarmentRecord,
                    partial(
                        conversions.mark_sold,
                        epc=item.epc,
                        gtin=gtin,
                        sale_id=event.sale_id,
                        ts_ms=event.ts_ms,
                    ),
                ),
                ttl_s=self._settings.conversion_window_s,
            )
            if converted is not None:
                out.points.append(facts.conversion(store, converted))
        if member is not None:
            await self._update(
                f"visit:{store}:{member.member_id}", visits.MemberVisit,
                lambda v: visits.add_sale(v, event.sale_id, gtins), ttl_s=_DAY_S,
            )  # fmt: skip

    async def _member_seen(
        self, store: str, member: Member, ts_ms: int, zone: str | None,
        source: SightingSource, out: Tracked,
    ) -> None:  # fmt: skip
        key = f"visit:{store}:{member.member_id}"
        last_visit: int | None = None
        if await self._state.get(key) is None:
            raw = await self._state.get(f"lastvisit:{store}:{member.member_id}")
            last_visit = int(raw) if raw else None

        def transition(old: bytes | None) -> tuple[bytes | None, visits.SightingResult]:
            visit = None if old is None else msgspec.json.decode(old, type=visits.MemberVisit)
            updated, result = visits.on_sighting(
                visit, member.member_id, ts_ms, zone, source, self._gap_ms, last_visit
            )
            return msgspec.json.encode(updated), result

        result = await self._state.update(key, transition, ttl_s=_DAY_S)
        if result.closed is not None:
            out.points.append(facts.visit_end(store, result.closed))
            await self._remember_last_visit(store, result.closed)
        if result.new_visit or result.is_start:
            start_source = source if result.new_visit else result.start_source
            out.points.append(facts.visit_start(store, member.member_id, ts_ms, start_source))
            # Also on a replay of the start: a worker killed before this line left it out.
            await self._index_add(store, member.member_id, result.visit_start_ms)
        out.seen.append(MemberSeen(store, member, ts_ms, zone, source, result, self._replay))

    async def _remember_last_visit(self, store: str, summary: visits.VisitSummary) -> None:
        end = str(summary.end_ms).encode()
        await self._state.update(
            f"lastvisit:{store}:{summary.member_id}",
            lambda old: (max(old or b"0", end, key=int), None),
            ttl_s=_LAST_VISIT_TTL_S,
        )

    async def _room(self, key: str, change: Callable[[fitting_rooms.RoomState], R]) -> R:
        def transition(old: bytes | None) -> tuple[bytes | None, R]:
            room = (
                fitting_rooms.RoomState()
                if old is None
                else msgspec.json.decode(old, type=fitting_rooms.RoomState)
            )
            result = change(room)
            return msgspec.json.encode(room), result

        return await self._state.update(key, transition, ttl_s=_DAY_S)

    async def _update(
        self, key: str, model: type[S], change: Callable[[S], R], ttl_s: int
    ) -> R | None:
        """Apply `change` to an existing document; None (and nothing written) if absent."""

        def transition(old: bytes | None) -> tuple[bytes | None, R | None]:
            if old is None:
                return None, None
            document = msgspec.json.decode(old, type=model)
            result = change(document)
            return msgspec.json.encode(document), result

        return await self._state.update(key, transition, ttl_s=ttl_s)


def _index_key(store: str) -> str:
    return f"visits:{store}"


def _upsert(
    model: type[S], change: Callable[[S | None], tuple[S, R]]
) -> Callable[[bytes | None], tuple[bytes | None, R]]:
    """A transition that creates the document when absent."""

    def transition(old: bytes | None) -> tuple[bytes | None, R]:
        current = None if old is None else msgspec.json.decode(old, type=model)
        document, result = change(current)
        return msgspec.json.encode(document), result

    return transition


def _gtin_of(epc: str | None) -> str | None:
    if epc is None:
        return None
    try:
        return decode_sgtin96(epc).gtin
    except InvalidSgtin:
        return None
