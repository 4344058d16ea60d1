"""Plan one party's visit: where they go and when, what they try on, what they buy.

Pure: a seeded `random.Random` in, a timeline out. Which devices see the visit, and what they
emit, is `scenario.py`'s job.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from simulators.catalog import SimProduct, Stock
from simulators.truth import Item

ENTRANCE = "entrance"
FLOOR = "floor"
CHECKOUT = "checkout"
# fitting-room zone -> the RFID reader that covers it
FITTING_ROOMS: dict[str, str] = {"fitting-room-1": "rfid-fr1", "fitting-room-2": "rfid-fr2"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Behaviour:
    """How shoppers behave; shares are probabilities, spans are (low, high) seconds."""

    couple_share: float = 0.15
    fitting_room_share: float = 0.35
    garments: tuple[int, int] = (1, 4)
    buy_after_fitting_share: float = 0.5
    keep_tried_item_share: float = 0.6
    extra_item_share: float = 0.2
    buy_without_fitting_share: float = 0.15
    anonymous_phone_share: float = 0.3
    identify_at_pos_share: float = 0.8
    card_at_pos_share: float = 0.6  # of members who identify: card, else phone number
    staff_attend_share: float = 0.35
    entrance_s: tuple[float, float] = (5.0, 20.0)
    browse_s: tuple[float, float] = (60.0, 900.0)
    fitting_s: tuple[float, float] = (180.0, 720.0)
    after_fitting_s: tuple[float, float] = (30.0, 300.0)
    checkout_s: tuple[float, float] = (45.0, 240.0)
    exit_s: tuple[float, float] = (5.0, 15.0)
    sighting_interval_s: tuple[float, float] = (10.0, 30.0)


@dataclass(frozen=True, slots=True)
class Segment:
    zone: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class Garment:
    item: Item
    enter_ms: int
    leave_ms: int


@dataclass(frozen=True, slots=True)
class FittingSession:
    zone: str
    enter_ms: int
    leave_ms: int
    garments: tuple[Garment, ...]


@dataclass(frozen=True, slots=True)
class VisitPlan:
    arrived_ms: int
    left_ms: int
    segments: tuple[Segment, ...]
    fitting: FittingSession | None
    bought: tuple[Item, ...]
    sale_ms: int | None

    def zone_at(self, at_ms: int) -> str:
        """The zone the party is in at `at_ms` (the last one once they have left)."""
        for segment in self.segments:
            if at_ms < segment.end_ms:
                return segment.zone
        return self.segments[-1].zone


def plan_visit(
    rng: random.Random,
    *,
    arrived_ms: int,
    close_ms: int,
    behaviour: Behaviour,
    catalog: Sequence[SimProduct],
    stock: Stock,
) -> VisitPlan:
    """Plan a visit starting at `arrived_ms` that ends before `close_ms`.

    Phases are drawn at their natural length, then squeezed together when they would run
    past closing time, so a run always ends with an empty store.
    """
    b = behaviour
    fitting_zone: str | None = None
    tried: list[Item] = []
    if rng.random() < b.fitting_room_share:
        fitting_zone = rng.choice(sorted(FITTING_ROOMS))
        count = rng.randint(*b.garments)
        tried = [_item(product, stock) for product in rng.sample(catalog, count)]

    bought: list[Item] = []
    if tried and rng.random() < b.buy_after_fitting_share:
        bought = [item for item in tried if rng.random() < b.keep_tried_item_share]
        if not bought:
            bought = [rng.choice(tried)]
        if rng.random() < b.extra_item_share:
            bought.append(_item(rng.choice(catalog), stock))
    elif not tried and rng.random() < b.buy_without_fitting_share:
        bought = [_item(product, stock) for product in rng.sample(catalog, rng.randint(1, 2))]

    phases: list[tuple[str, float]] = [
        (ENTRANCE, rng.uniform(*b.entrance_s)),
        (FLOOR, _skewed(rng, b.browse_s)),
    ]
    if fitting_zone is not None:
        phases.append((fitting_zone, rng.uniform(*b.fitting_s)))
        phases.append((FLOOR, rng.uniform(*b.after_fitting_s)))
    if bought:
        phases.append((CHECKOUT, rng.uniform(*b.checkout_s)))
    phases.append((ENTRANCE, rng.uniform(*b.exit_s)))

    natural_ms = sum(seconds for _, seconds in phases) * 1000
    available_ms = close_ms - 1000 - arrived_ms
    if available_ms <= len(phases):
        raise ValueError(f"a visit arriving at {arrived_ms} cannot end before {close_ms}")
    squeeze = min(1.0, available_ms / natural_ms)
    segments = []
    at = float(arrived_ms)
    for zone, seconds in phases:
        start, at = at, at + seconds * 1000 * squeeze
        segments.append(Segment(zone, int(start), int(at)))

    fitting = None
    if fitting_zone is not None:
        room = next(segment for segment in segments if segment.zone == fitting_zone)
        fitting = _fitting_session(rng, room, tried)
    sale_ms = None
    if bought:
        till = next(segment for segment in segments if segment.zone == CHECKOUT)
        sale_ms = till.start_ms + int((till.end_ms - till.start_ms) * rng.uniform(0.6, 0.95))
    return VisitPlan(
        arrived_ms=arrived_ms,
        left_ms=segments[-1].end_ms,
        segments=tuple(segments),
        fitting=fitting,
        bought=tuple(bought),
        sale_ms=sale_ms,
    )


def _fitting_session(rng: random.Random, room: Segment, tried: list[Item]) -> FittingSession:
    span = room.end_ms - room.start_ms
    # Garments cross the reader's field within the first/last few percent of the stay.
    garments = tuple(
        Garment(
            item,
            room.start_ms + int(span * rng.uniform(0.0, 0.05)),
            room.end_ms - int(span * rng.uniform(0.0, 0.05)),
        )
        for item in tried
    )
    return FittingSession(room.zone, room.start_ms, room.end_ms, garments)


def _skewed(rng: random.Random, span: tuple[float, float]) -> float:
    """Mostly short, sometimes long: most shoppers browse briefly."""
    low, high = span
    return rng.triangular(low, high, min(high, low * 3))


def _item(product: SimProduct, stock: Stock) -> Item:
    return Item(epc=stock.take(product), gtin=product.gtin, price=product.price)
