"""Floor and backroom RFID readers: where every garment of the store is, all day (opt-in,
`ScenarioConfig.stock_readers`), and the restock situations they make.

The visits are planned first and stay exactly as they would be without these readers; this
module then lays out the stock they draw on and moves it in time order:

- at opening, every SKU's items are read in by `rfid-fl1`/`rfid-fl2` (zones `floor-1`,
  `floor-2`) or `rfid-br1` (zone `backroom`): as many as shoppers will take that day and
  0-2 more, none, one or two of them on the floor, the rest in the backroom;
- a shopper takes each garment they try on from the rail while browsing, and each item they
  buy without trying on during their last round of the floor: the tag `leave`s the floor
  then. When no item of that SKU a shopper may take (below) is on the floor, an assistant
  fetches one from the backroom (the tag `leave`s the backroom), or from the hands of the
  assistant carrying it out;
- what was tried on and not bought goes back to the floor 2-20 minutes after the fitting
  room (`enter`); bought items leave the shop with the sale;
- now and then (every 30-90 minutes) an assistant walks the floor and, for every SKU with no
  item left on it and some in the backroom, carries up to two out (`leave` the backroom,
  `enter` the floor a minute later).

A garment belongs to at most one visit (`catalog.Stock`): one that came back from a fitting
room hangs on the floor again, counted there, but no later shopper takes it; another is
fetched from the backroom instead. Items nobody takes get fresh serials of their own.

The truth (`restock_situations`) is read back from the emitted events, in emission order.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from simulators.catalog import SimProduct, Stock
from simulators.truth import RestockSituation
from simulators.visits import CHECKOUT, FLOOR, VisitPlan
from storesense.protocol.events import AnyEvent, PosSale, RfidTag
from storesense.protocol.sgtin import InvalidSgtin, decode_sgtin96

# zone -> the reader that covers it
FLOOR_READERS: dict[str, str] = {"floor-1": "rfid-fl1", "floor-2": "rfid-fl2"}
BACKROOM_READERS: dict[str, str] = {"backroom": "rfid-br1"}
STOCK_DEVICES: Mapping[str, str] = dict.fromkeys(
    sorted([*FLOOR_READERS.values(), *BACKROOM_READERS.values()]), "rfid"
)
_BACKROOM = "backroom"
_FITTING_ROOM = "fitting-room"
_Action = Literal["enter", "leave"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StockBehaviour:
    """How stock is laid out and moved; spans are (low, high)."""

    # Items of a SKU on the floor at opening: 0, 1 or 2, with these weights (the rest of
    # its items are in the backroom).
    floor_weights: tuple[int, int, int] = (1, 4, 4)
    spare_items: tuple[int, int] = (0, 2)  # items per SKU beyond the day's picks
    restock_every_min: tuple[float, float] = (30.0, 90.0)
    restock_items: int = 2  # most items of one SKU carried out per round
    carry_s: tuple[float, float] = (20.0, 90.0)  # backroom -> floor
    round_step_s: float = 15.0  # between SKUs of one round
    go_back_min: tuple[float, float] = (2.0, 20.0)  # fitting room -> back on the floor

    def __post_init__(self) -> None:
        if self.restock_items < 1:
            raise ValueError(f"restock_items must be >= 1, got {self.restock_items}")
        if min(self.floor_weights) < 0 or not any(self.floor_weights):
            raise ValueError(f"floor_weights must be >= 0, not all 0: {self.floor_weights}")


@dataclass(frozen=True, slots=True)
class StockMove:
    """One presence change a stock reader reports."""

    at_ms: int
    device: str
    zone: str
    epc: str
    action: _Action


@dataclass(slots=True, eq=False)
class _Item:
    number: int
    product: SimProduct
    home: str  # its floor zone
    where: Literal["floor", "backroom", "transit", "out"]
    epc: str | None = None  # bound when a shopper takes it, or at the end
    takeable: bool = True  # False once a visit has had it


@dataclass(order=True, slots=True)
class _Due:
    at_ms: int
    seq: int
    kind: Literal["take", "go_back", "round", "carry", "arrive"] = field(compare=False)
    gtin: str = field(compare=False, default="")
    epc: str = field(compare=False, default="")
    item: _Item | None = field(compare=False, default=None)


def simulate_stock(
    rng: random.Random,
    *,
    plans: Sequence[VisitPlan],
    catalog: Sequence[SimProduct],
    stock: Stock,
    start_ms: int,
    close_ms: int,
    behaviour: StockBehaviour,
) -> list[StockMove]:
    """The stock readers' events for a day of `plans` (in any order; sorted by the caller)."""
    return _Stockroom(rng, catalog, stock, start_ms, close_ms, behaviour).run(plans)


class _Stockroom:
    def __init__(
        self,
        rng: random.Random,
        catalog: Sequence[SimProduct],
        stock: Stock,
        start_ms: int,
        close_ms: int,
        behaviour: StockBehaviour,
    ) -> None:
        self.rng = rng
        self.products = {product.gtin: product for product in catalog}
        self.stock = stock
        self.start_ms = start_ms
        self.close_ms = close_ms
        self.b = behaviour
        self.items: list[_Item] = []
        self.by_gtin: dict[str, list[_Item]] = defaultdict(list)
        self.due: list[_Due] = []
        self.seq = 0
        # (at ms, item or bound epc, zone, action); epcs resolved once every item is bound
        self.moves: list[tuple[int, _Item | str, str, _Action]] = []

    def run(self, plans: Sequence[VisitPlan]) -> list[StockMove]:
        takes = self._schedule_visits(plans)
        self._lay_out(takes)
        at = self.start_ms
        while True:
            at += int(self.rng.uniform(*self.b.restock_every_min) * 60_000)
            if at >= self.close_ms - 600_000:
                break
            self._push(_Due(at, 0, "round"))
        while self.due:
            self._handle(heapq.heappop(self.due))
        for item in self.items:
            if item.epc is None:
                item.epc = self.stock.take(item.product)
        moves = []
        for at_ms, who, zone, action in self.moves:
            epc = who if isinstance(who, str) else who.epc
            assert epc is not None
            reader = FLOOR_READERS.get(zone) or BACKROOM_READERS[zone]
            moves.append(StockMove(at_ms, reader, zone, epc, action))
        return moves

    # -- planning ------------------------------------------------------------------------------

    def _schedule_visits(self, plans: Sequence[VisitPlan]) -> Counter[str]:
        takes: Counter[str] = Counter()
        for plan in plans:
            floors = [segment for segment in plan.segments if segment.zone == FLOOR]
            bought = {item.epc for item in plan.bought}
            tried = set()
            if plan.fitting is not None:
                browse = floors[0]
                for garment in plan.fitting.garments:
                    tried.add(garment.item.epc)
                    at = self._within(browse.start_ms, browse.end_ms)
                    at = max(plan.arrived_ms, min(at, garment.enter_ms - 1))
                    self._push(_Due(at, 0, "take", garment.item.gtin, garment.item.epc))
                    takes[garment.item.gtin] += 1
                    if garment.item.epc not in bought:
                        back_ms = self.rng.uniform(*self.b.go_back_min) * 60_000
                        back = garment.leave_ms + int(back_ms)
                        if back < self.close_ms - 60_000:
                            self._push(_Due(back, 0, "go_back", epc=garment.item.epc))
            if plan.sale_ms is not None:
                till = next(segment for segment in plan.segments if segment.zone == CHECKOUT)
                last_floor = [segment for segment in floors if segment.end_ms <= till.start_ms]
                for item in plan.bought:
                    if item.epc in tried:
                        continue
                    span = last_floor[-1] if last_floor else till
                    at = min(self._within(span.start_ms, span.end_ms), plan.sale_ms - 1)
                    at = max(plan.arrived_ms, at)
                    self._push(_Due(at, 0, "take", item.gtin, item.epc))
                    takes[item.gtin] += 1
        return takes

    def _lay_out(self, takes: Counter[str]) -> None:
        """Opening: every SKU's items read in where they hang or lie."""
        zones = sorted(FLOOR_READERS)
        for gtin, product in self.products.items():
            total = takes[gtin] + self.rng.randint(*self.b.spare_items)
            on_floor = self.rng.choices((0, 1, 2), weights=self.b.floor_weights)[0]
            for number in range(total):
                where: Literal["floor", "backroom"] = "floor" if number < on_floor else "backroom"
                item = _Item(len(self.items), product, self.rng.choice(zones), where)
                self.items.append(item)
                self.by_gtin[gtin].append(item)
                self.moves.append((self.start_ms, item, self._zone(item), "enter"))

    # -- the day -------------------------------------------------------------------------------

    def _handle(self, due: _Due) -> None:
        if due.kind == "take":
            self._take(due)
        elif due.kind == "go_back":
            back = self._bound(due.epc)
            back.where = "floor"
            self.moves.append((due.at_ms, due.epc, back.home, "enter"))
        elif due.kind == "round":
            self._round(due.at_ms)
        elif due.kind == "carry":
            self._carry(due.at_ms, due.gtin)
        elif due.kind == "arrive":
            item = due.item
            assert item is not None
            if item.where == "transit":  # not taken from the assistant's hands meanwhile
                item.where = "floor"
                self.moves.append((due.at_ms, item, item.home, "enter"))

    def _take(self, due: _Due) -> None:
        items = [item for item in self.by_gtin[due.gtin] if item.takeable]
        for where in ("floor", "backroom", "transit"):
            found = [item for item in items if item.where == where]
            if found:
                item = found[0]
                break
        else:
            raise RuntimeError(f"no item of {due.gtin} left to take")  # laid out one per take
        if item.where != "transit":  # in transit it has left the backroom already
            self.moves.append((due.at_ms, item, self._zone(item), "leave"))
        item.where, item.epc, item.takeable = "out", due.epc, False

    def _round(self, at_ms: int) -> None:
        step = 0
        for gtin in sorted(self.by_gtin):
            if self._wants_restock(gtin):
                step += 1
                self._push(_Due(at_ms + int(step * self.b.round_step_s * 1000), 0, "carry", gtin))

    def _carry(self, at_ms: int, gtin: str) -> None:
        if not self._wants_restock(gtin) or at_ms >= self.close_ms - 120_000:
            return
        backroom = [item for item in self.by_gtin[gtin] if item.where == "backroom"]
        for item in backroom[: self.b.restock_items]:
            item.where = "transit"
            self.moves.append((at_ms, item, _BACKROOM, "leave"))
            arrive = at_ms + int(self.rng.uniform(*self.b.carry_s) * 1000)
            self._push(_Due(arrive, 0, "arrive", item=item))

    def _wants_restock(self, gtin: str) -> bool:
        items = self.by_gtin[gtin]
        return not any(item.where == "floor" for item in items) and any(
            item.where == "backroom" for item in items
        )

    # -- helpers -------------------------------------------------------------------------------

    def _push(self, due: _Due) -> None:
        self.seq += 1
        due.seq = self.seq
        heapq.heappush(self.due, due)

    def _within(self, start_ms: int, end_ms: int) -> int:
        return start_ms + int((end_ms - start_ms) * self.rng.uniform(0.1, 0.9))

    def _bound(self, epc: str) -> _Item:
        return next(item for item in self.items if item.epc == epc)

    @staticmethod
    def _zone(item: _Item) -> str:
        return item.home if item.where == "floor" else _BACKROOM


def restock_situations(events: Iterable[AnyEvent]) -> list[RestockSituation]:
    """Every restock situation in `events` (in the order the devices emitted them).

    A SKU's stock is the garment tags the floor (`floor*`) and backroom (`backroom*`) readers
    last saw in their zones: a `leave` or a sale takes a tag off. From the SKU's first stock
    read on, its floor ran out at the event after which none of its tags is on the floor,
    and is back at the next floor `enter`. A try-on is a garment tag entering a
    `fitting-room*` zone; one while the SKU's floor is out and its backroom holds at least
    one tag is a situation, once per outage (further try-ons of that outage are the same
    one)."""
    where: dict[str, dict[str, str]] = defaultdict(dict)  # gtin -> epc -> stock zone
    out_since: dict[str, int | None] = {}  # gtin -> floor ran out at; absent: never counted
    found: dict[tuple[str, int], RestockSituation] = {}

    def settle(gtin: str, ts_ms: int) -> None:
        floor = any(zone.startswith("floor") for zone in where[gtin].values())
        if floor:
            out_since[gtin] = None
        elif out_since.get(gtin) is None:
            out_since[gtin] = ts_ms

    for event in events:
        if isinstance(event, PosSale):
            for sold in event.items:
                gtin = _gtin(sold.epc)
                if gtin is not None and gtin in out_since:
                    where[gtin].pop(sold.epc or "", None)
                    settle(gtin, event.ts_ms)
            continue
        if not isinstance(event, RfidTag):
            continue
        gtin = _gtin(event.epc)
        if gtin is None:
            continue
        if event.zone.startswith(("floor", "backroom")):
            if event.action == "enter":
                where[gtin][event.epc] = event.zone
            else:
                where[gtin].pop(event.epc, None)
            settle(gtin, event.ts_ms)
        elif event.zone.startswith(_FITTING_ROOM) and event.action == "enter":
            since = out_since.get(gtin)
            backroom = sum(1 for zone in where[gtin].values() if zone.startswith("backroom"))
            if since is not None and backroom and (gtin, since) not in found:
                found[(gtin, since)] = RestockSituation(
                    gtin=gtin,
                    floor_out_ms=since,
                    tried_ms=event.ts_ms,
                    zone=event.zone,
                    backroom=backroom,
                )
    return list(found.values())


def _gtin(epc: str | None) -> str | None:
    if epc is None:
        return None
    try:
        return decode_sgtin96(epc).gtin
    except InvalidSgtin:
        return None
