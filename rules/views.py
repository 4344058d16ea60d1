"""What rules see of a store: plain values built by the read model (`rules/readmodel.py`)
from state documents, so every rule stays a pure function."""

from __future__ import annotations

from dataclasses import dataclass

from storesense.backends.state.base import DeviceRecord
from storesense.registry.products import Product


@dataclass(frozen=True, slots=True)
class MemberProfile:
    """A member's history in this store, for the assistant who greets them."""

    visits_90d: int = 0  # visits started in the 90 days before this one
    favourite_styles: tuple[str, ...] = ()  # product names, most tried or bought first
    favourite_sizes: tuple[str, ...] = ()
    tried_not_bought: tuple[str, ...] = ()  # product names tried on the last visit, not bought


@dataclass(frozen=True, slots=True)
class RoomView:
    """One fitting room now."""

    zone: str
    session_start_ms: int | None  # None: empty
    staff_present: bool  # a staff badge is in the room now
    staff_attended: bool  # staff came during this session
    tried: int  # garments tried this session
    items: tuple[Product, ...] = ()  # garments in the room now, where the catalog knows them
    member_id: str | None = None


@dataclass(frozen=True, slots=True)
class SkuDay:
    """One SKU in one store today."""

    gtin: str
    day: str  # YYYY-MM-DD in the store's timezone
    tried: int  # distinct garments tried on
    sold: int  # items sold
    product: Product | None = None
    tried_ms: tuple[int, ...] = ()  # when each was tried, in order


@dataclass(frozen=True, slots=True)
class StockView:
    """Where the tags of one SKU were last seen (RFID zones)."""

    gtin: str
    floor: int
    backroom: int
    product: Product | None = None
    floor_out_ms: int | None = None  # since when none has been on the floor (event time)


@dataclass(frozen=True, slots=True)
class TrafficView:
    window_start_ms: int
    entries: int  # people in through the door in the window
    usual: float | None  # usual entries per window at this hour and weekday; None: unknown
    history_days: int  # days the usual is drawn from
    staff_on_shift: int


@dataclass(frozen=True, slots=True)
class DeviceView:
    record: DeviceRecord
    last_event_ms: int | None  # newest event from it, event time
