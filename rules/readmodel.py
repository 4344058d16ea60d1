"""The rules' read model: small state documents kept from what ingest already produces
(accepted events and derived facts), and the views rules read from them and from ingest's
own documents (`room:…`, `lastvisit:…`, device status). Nothing in ingest changes shape.

- `rules:member:{store}:{member}`: visit starts, garments tried and bought (from the
  `visit_start`, `try_on` and `sale_item` facts);
- `rules:sku:{store}:{day}`: garments tried and items sold per GTIN that day (same facts);
- `rules:stock:{store}:{gtin}`: the zone each tag of a SKU was last seen in (`rfid.tag`
  events in `floor*`/`backroom*` zones: a tag leaving the floor, or sold, is off it);
- `rules:traffic:{store}`: people in per minute (last hour) and per hour (8 weeks);
- `rules:staff:{store}`: staff badges and beacons, last seen;
- `rules:devices:{store}`: the newest event per device (written at most every 30 s).

Updates of sets (tried, bought, visits) are idempotent, so a redelivered message's facts
change nothing; counts (door entries) come from fresh events only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar
from zoneinfo import ZoneInfo

import msgspec

from ingest.fitting_rooms import RoomState
from ingest.identity import Directory
from rules.views import DeviceView, MemberProfile, RoomView, SkuDay, StockView, TrafficView
from storesense.backends.state.base import StateStore
from storesense.backends.timeseries.base import Point
from storesense.registry.products import Product

S = TypeVar("S", bound=msgspec.Struct)
R = TypeVar("R")

DAY_MS = 86_400_000
_MEMBER_TTL_S = 400 * 86_400
_SKU_TTL_S = 2 * 86_400
_STOCK_TTL_S = 60 * 86_400
_TRAFFIC_TTL_S = 60 * 86_400
_HOURS_KEPT = 8 * 7 * 24
_ITEMS_KEPT = 300
_VISITS_KEPT = 100
_STAFF_SHIFT_MS = 4 * 3_600_000
FLOOR_ZONES = ("floor",)
BACKROOM_ZONES = ("backroom",)


class MemberHistory(msgspec.Struct, kw_only=True):
    visits: list[int] = msgspec.field(default_factory=list)  # visit starts, ms
    # (ts ms, gtin, "t" tried | "b" bought)
    items: list[tuple[int, str, str]] = msgspec.field(default_factory=list)


class SkuDayDoc(msgspec.Struct, kw_only=True):
    tried: dict[str, dict[str, int]] = msgspec.field(default_factory=dict)  # gtin -> epc -> ms
    sold: dict[str, list[str]] = msgspec.field(default_factory=dict)  # gtin -> sale item keys


class StockDoc(msgspec.Struct, kw_only=True):
    zones: dict[str, str] = msgspec.field(default_factory=dict)  # epc -> zone
    # Since when no tag of the SKU has been on the floor (event ms); None: some are.
    floor_out_ms: int | None = None

    def note_floor(self, ts_ms: int) -> None:
        if any(zone.startswith(FLOOR_ZONES) for zone in self.zones.values()):
            self.floor_out_ms = None
        elif self.floor_out_ms is None:
            self.floor_out_ms = ts_ms


class TrafficDoc(msgspec.Struct, kw_only=True):
    minutes: dict[str, int] = msgspec.field(default_factory=dict)  # minute start ms -> in
    hours: dict[str, int] = msgspec.field(default_factory=dict)  # YYYY-MM-DDTHH -> in


class SeenDoc(msgspec.Struct, kw_only=True):
    last: dict[str, int] = msgspec.field(default_factory=dict)  # id -> last seen ms


def local(ts_ms: int, timezone: str) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(ZoneInfo(timezone))


def day_of(ts_ms: int, timezone: str) -> str:
    return local(ts_ms, timezone).strftime("%Y-%m-%d")


def hour_of(ts_ms: int, timezone: str) -> str:
    return local(ts_ms, timezone).strftime("%Y-%m-%dT%H")


def hour_start_ms(ts_ms: int, timezone: str) -> int:
    """The start of the store-local hour `ts_ms` falls in (some zones are :30 off UTC)."""
    start = local(ts_ms, timezone).replace(minute=0, second=0, microsecond=0)
    return int(start.timestamp() * 1000)


def point_ms(point: Point) -> int:
    return point.ts_ns // 1_000_000


class ReadModel:
    def __init__(self, state: StateStore, fitting_room_prefix: str = "fitting-room") -> None:
        self._state = state
        self._prefix = fitting_room_prefix
        self._device_written: dict[tuple[str, str], int] = {}

    # -- keeping the documents -----------------------------------------------------------------

    async def record_facts(
        self, points: Sequence[Point], timezone_of: Callable[[str], str]
    ) -> None:
        """Member histories and today's SKU counts from derived facts (idempotent)."""
        by_member: dict[tuple[str, str], list[tuple[int, str, str] | int]] = {}
        by_day: dict[tuple[str, str], list[tuple[str, str, str, int]]] = {}
        for point in points:
            store = point.tags.get("store", "")
            member = point.fields.get("member_id")
            ms = point_ms(point)
            if point.measurement == "visit_start" and isinstance(member, str):
                by_member.setdefault((store, member), []).append(ms)
            elif point.measurement in ("try_on", "sale_item"):
                gtin = point.tags.get("gtin", "")
                kind = "t" if point.measurement == "try_on" else "b"
                if isinstance(member, str):
                    by_member.setdefault((store, member), []).append((ms, gtin, kind))
                ident = str(point.fields.get("epc", "")) if kind == "t" else str(point.ts_ns)
                day = day_of(ms, timezone_of(store))
                by_day.setdefault((store, day), []).append((kind, gtin, ident, ms))
        for (store, member), entries in by_member.items():
            key = f"rules:member:{store}:{member}"
            await self._upsert(
                key, MemberHistory, partial(_add_history, entries=entries), _MEMBER_TTL_S
            )
        for (store, day), marks in by_day.items():
            key = f"rules:sku:{store}:{day}"
            await self._upsert(key, SkuDayDoc, partial(_add_marks, marks=marks), _SKU_TTL_S)

    async def record_stock(
        self, store: str, epc: str, gtin: str, zone: str | None, ts_ms: int
    ) -> None:
        """Where a garment tag is now (None: sold, off the shop)."""
        key = f"rules:stock:{store}:{gtin}"
        if zone is not None and stock_zone(zone):

            def place(doc: StockDoc) -> None:
                doc.zones[epc] = zone
                doc.note_floor(ts_ms)

            await self._upsert(key, StockDoc, place, _STOCK_TTL_S)
            return

        def remove(old: bytes | None) -> tuple[bytes | None, None]:
            if old is None:
                return None, None  # a SKU nobody counts on the floor: nothing to keep
            doc = msgspec.json.decode(old, type=StockDoc)
            doc.zones.pop(epc, None)
            doc.note_floor(ts_ms)
            return msgspec.json.encode(doc), None

        await self._state.update(key, remove, ttl_s=_STOCK_TTL_S)

    async def record_leave(self, store: str, epc: str, gtin: str, zone: str, ts_ms: int) -> None:
        def change(doc: StockDoc) -> None:
            if doc.zones.get(epc) == zone:
                del doc.zones[epc]
            doc.note_floor(ts_ms)

        if stock_zone(zone):
            await self._upsert(f"rules:stock:{store}:{gtin}", StockDoc, change, _STOCK_TTL_S)

    async def record_entries(
        self, store: str, entries: Sequence[tuple[int, int]], timezone: str
    ) -> TrafficDoc:
        """People in through the door: (ts ms, count) of fresh events; the updated doc."""

        def change(doc: TrafficDoc) -> TrafficDoc:
            for ts_ms, count in entries:
                minute = str(ts_ms - ts_ms % 60_000)
                doc.minutes[minute] = doc.minutes.get(minute, 0) + count
                hour = hour_of(ts_ms, timezone)
                doc.hours[hour] = doc.hours.get(hour, 0) + count
            newest = max(int(m) for m in doc.minutes)
            doc.minutes = {m: n for m, n in doc.minutes.items() if int(m) > newest - 3_600_000}
            if len(doc.hours) > _HOURS_KEPT:
                doc.hours = dict(sorted(doc.hours.items())[-_HOURS_KEPT:])
            return doc

        return await self._upsert(f"rules:traffic:{store}", TrafficDoc, change, _TRAFFIC_TTL_S)

    async def record_staff(self, store: str, staff_id: str, ts_ms: int) -> None:
        def change(doc: SeenDoc) -> None:
            doc.last[staff_id] = max(ts_ms, doc.last.get(staff_id, 0))

        await self._upsert(f"rules:staff:{store}", SeenDoc, change, _TRAFFIC_TTL_S)

    async def record_devices(self, store: str, newest: dict[str, int], every_ms: int) -> None:
        """Newest event per device; written at most every `every_ms` of event time per
        device, so the hot path pays for it rarely."""
        due = {
            device: ts
            for device, ts in newest.items()
            if ts - self._device_written.get((store, device), 0) >= every_ms
        }
        if not due:
            return

        def change(doc: SeenDoc) -> None:
            for device, ts in due.items():
                doc.last[device] = max(ts, doc.last.get(device, 0))

        await self._upsert(f"rules:devices:{store}", SeenDoc, change, _TRAFFIC_TTL_S)
        for device, ts in due.items():
            self._device_written[(store, device)] = ts

    # -- views ---------------------------------------------------------------------------------

    async def profile(
        self, store: str, member_id: str, before_ms: int, directory: Directory
    ) -> MemberProfile:
        """The member's history before the visit starting at `before_ms`."""
        raw = await self._state.get(f"rules:member:{store}:{member_id}")
        if raw is None:
            return MemberProfile()
        history = msgspec.json.decode(raw, type=MemberHistory)
        past = [start for start in history.visits if start < before_ms]
        items = [item for item in history.items if item[0] < before_ms]
        styles: Counter[str] = Counter()
        sizes: Counter[str] = Counter()
        for _, gtin, _kind in items:
            product = directory.product(gtin)
            if product is not None:
                styles[product.name] += 1
                if product.size:
                    sizes[product.size] += 1
        tried_not_bought: tuple[str, ...] = ()
        if past:
            last_start = max(past)
            last = [item for item in items if item[0] >= last_start]
            bought = {gtin for _, gtin, kind in last if kind == "b"}
            names = [
                _name(directory.product(gtin), gtin)
                for _, gtin, kind in last
                if kind == "t" and gtin not in bought
            ]
            tried_not_bought = tuple(dict.fromkeys(names))
        return MemberProfile(
            visits_90d=sum(1 for start in past if start >= before_ms - 90 * DAY_MS),
            favourite_styles=tuple(name for name, _ in styles.most_common(3)),
            favourite_sizes=tuple(size for size, _ in sizes.most_common(2)),
            tried_not_bought=tried_not_bought,
        )

    async def room(self, store: str, zone: str, directory: Directory) -> RoomView | None:
        raw = await self._state.get(f"room:{store}:{zone}")
        return None if raw is None else _room_view(zone, raw, directory)

    async def rooms(self, store: str, directory: Directory | None = None) -> list[RoomView]:
        prefix = f"room:{store}:"
        return [
            _room_view(key[len(prefix) :], raw, directory)
            for key, raw in await self._state.scan(prefix)
        ]

    async def stock(self, store: str, gtin: str, product: Product | None) -> StockView:
        raw = await self._state.get(f"rules:stock:{store}:{gtin}")
        doc = msgspec.json.decode(raw, type=StockDoc) if raw else StockDoc()
        floor = sum(1 for zone in doc.zones.values() if zone.startswith(FLOOR_ZONES))
        backroom = sum(1 for zone in doc.zones.values() if zone.startswith(BACKROOM_ZONES))
        return StockView(gtin, floor, backroom, product, floor_out_ms=doc.floor_out_ms)

    async def skus(self, store: str, day: str, directory: Directory | None) -> list[SkuDay]:
        raw = await self._state.get(f"rules:sku:{store}:{day}")
        if raw is None:
            return []
        doc = msgspec.json.decode(raw, type=SkuDayDoc)
        return [
            SkuDay(
                gtin=gtin,
                day=day,
                tried=len(epcs),
                sold=len(doc.sold.get(gtin, ())),
                product=directory.product(gtin) if directory else None,
                tried_ms=tuple(sorted(epcs.values())),
            )
            for gtin, epcs in sorted(doc.tried.items())
        ]

    def traffic(
        self, doc: TrafficDoc, now_ms: int, window_min: int, timezone: str, staff: int
    ) -> TrafficView:
        start = now_ms - window_min * 60_000
        entries = sum(n for minute, n in doc.minutes.items() if start < int(minute) <= now_ms)
        now = local(now_ms, timezone)
        today = now.strftime("%Y-%m-%d")
        same: list[int] = []
        for key, count in doc.hours.items():
            day, hour = key.split("T")
            if day == today or int(hour) != now.hour:
                continue
            if datetime.strptime(day, "%Y-%m-%d").weekday() == now.weekday():
                same.append(count)
        usual = sum(same) / len(same) * window_min / 60 if same else None
        return TrafficView(start, entries, usual, len(same), staff)

    async def staff_on_shift(self, store: str, now_ms: int) -> int:
        raw = await self._state.get(f"rules:staff:{store}")
        if raw is None:
            return 0
        seen = msgspec.json.decode(raw, type=SeenDoc).last
        return sum(1 for ts in seen.values() if now_ms - _STAFF_SHIFT_MS <= ts)

    async def devices(self, store: str) -> list[DeviceView]:
        raw = await self._state.get(f"rules:devices:{store}")
        last = msgspec.json.decode(raw, type=SeenDoc).last if raw else {}
        return [
            DeviceView(record, last.get(record.device))
            for record in await self._state.devices(store)
        ]

    # -- plumbing ------------------------------------------------------------------------------

    async def _upsert(self, key: str, model: type[S], change: Callable[[S], R], ttl_s: int) -> R:
        def transition(old: bytes | None) -> tuple[bytes | None, R]:
            doc = model() if old is None else msgspec.json.decode(old, type=model)
            result = change(doc)
            return msgspec.json.encode(doc), result

        return await self._state.update(key, transition, ttl_s=ttl_s)


def _add_history(doc: MemberHistory, entries: list[tuple[int, str, str] | int]) -> None:
    for entry in entries:
        if isinstance(entry, int):
            if entry not in doc.visits:
                doc.visits.append(entry)
        elif entry not in doc.items:
            doc.items.append(entry)
    doc.visits = sorted(doc.visits)[-_VISITS_KEPT:]
    doc.items = sorted(doc.items)[-_ITEMS_KEPT:]


def _add_marks(doc: SkuDayDoc, marks: list[tuple[str, str, str, int]]) -> None:
    for kind, gtin, ident, ms in marks:
        if kind == "t":
            tried = doc.tried.setdefault(gtin, {})
            tried[ident] = min(ms, tried.get(ident, ms))
            continue
        sold = doc.sold.setdefault(gtin, [])
        if ident not in sold:
            sold.append(ident)


def stock_zone(zone: str) -> bool:
    return zone.startswith(FLOOR_ZONES) or zone.startswith(BACKROOM_ZONES)


def _name(product: Product | None, gtin: str) -> str:
    if product is None:
        return gtin
    return " ".join(part for part in (product.name, product.colour, product.size) if part)


def _room_view(zone: str, raw: bytes, directory: Directory | None) -> RoomView:
    room = msgspec.json.decode(raw, type=RoomState)
    products = []
    if directory is not None:
        for item in room.items.values():
            product = directory.product(item.gtin)
            if product is not None:
                products.append(product)
    return RoomView(
        zone=zone,
        session_start_ms=room.session_start_ms,
        staff_present=bool(room.staff),
        staff_attended=room.session_staff,
        tried=len(room.session_tried),
        items=tuple(products),
        member_id=room.member_id,
    )
