"""A day (or an hour) in a virtual store: every device event, in time order, and the truth.

Pure and deterministic: the same config and population give the same emissions, byte for
byte. Parties arrive by a Poisson process until shortly before closing; each visit is planned
by `visits.plan_visit` and turned here into what the devices see:

- `door-1` (door counter): `in` on arrival and `out` on leaving, `count` 2 for a couple;
- `ble-1` (BLE scanner): every phone that advertises, every 10-30 s while in store;
  a member's app sends its rotating ID (`eid_at(key, ts)` at the simulated time), other
  phones a random 16-hex ID that changes every 15 minutes, or a fixed iBeacon/Eddystone ID;
- `rfid-fr1`, `rfid-fr2` (fitting-room readers): garments `enter`/`leave`, staff badges;
- `pos-1` (till): `pos.sale` with the items' EPCs and, often, the member's card or phone;
- with `stock_readers`, `rfid-fl1`, `rfid-fl2`, `rfid-br1` (floor and backroom readers): the
  store's stock moving all day (`stockroom.py`), and the restock situations in the truth.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

from simulators.catalog import SimProduct, Stock
from simulators.population import SimMember, SimStaff
from simulators.stockroom import STOCK_DEVICES, StockBehaviour, restock_situations, simulate_stock
from simulators.truth import GroundTruth, MemberRefKind, VisitTruth, summarise
from simulators.visits import FITTING_ROOMS, Behaviour, FittingSession, VisitPlan, plan_visit
from storesense.protocol.eid import WINDOW_SECONDS, eid_at
from storesense.protocol.events import (
    AnyEvent,
    BeaconSighting,
    DoorCrossing,
    MemberRef,
    PosSale,
    RfidTag,
    SaleItem,
)
from storesense.protocol.identifiers import is_identifier

DOOR_COUNTER = "door-1"
BLE_SCANNER = "ble-1"
TILL = "pos-1"
# device -> kind, as announced in its `status`
DEVICES: Mapping[str, str] = {
    DOOR_COUNTER: "door",
    BLE_SCANNER: "beacon",
    **dict.fromkeys(sorted(FITTING_ROOMS.values()), "rfid"),
    TILL: "pos",
}
_ENTRANCE_NAME = "main"  # the `door` field of door-1's crossings
_LAST_ARRIVAL_BEFORE_CLOSE_MS = 120_000
# BLE signal strength by zone (dBm), before per-sighting noise
_RSSI_BY_ZONE = {"entrance": -74, "floor": -80, "checkout": -63}
_RSSI_FITTING_ROOM = -67
_IBEACON_SHARE = 0.12  # of anonymous advertisers; as many again advertise Eddystone-UID
_MIN_PLAUSIBLE_MS = 100_000_000_000


@dataclass(frozen=True, slots=True)
class Emission:
    """One event as a device emits it, at `at_ms` (simulated epoch ms, equal to its `ts`)."""

    at_ms: int
    device: str
    event: AnyEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioConfig:
    seed: int
    start_ms: int
    duration_s: float
    store: str = "demo-store"
    visitors_per_hour: float = 120.0  # parties: a couple is one arrival
    member_share: float = 0.3  # of parties, led by a loyalty member
    currency: str = "CNY"
    # When set, a consenting member with the app arrives within this many seconds (demos).
    early_member_s: float | None = None
    behaviour: Behaviour = field(default_factory=Behaviour)
    # Floor and backroom RFID readers; off, the day's events are those of a store without.
    stock_readers: bool = False
    stock: StockBehaviour = field(default_factory=StockBehaviour)

    def __post_init__(self) -> None:
        if not is_identifier(self.store):
            raise ValueError(f"store must match [a-z0-9][a-z0-9_-]{{0,63}}, got {self.store!r}")
        if self.start_ms < _MIN_PLAUSIBLE_MS:
            raise ValueError(f"start_ms must be epoch milliseconds, got {self.start_ms}")
        if self.duration_s <= 0:
            raise ValueError(f"duration_s must be > 0, got {self.duration_s}")
        if self.visitors_per_hour < 0:
            raise ValueError(f"visitors_per_hour must be >= 0, got {self.visitors_per_hour}")
        if not 0.0 <= self.member_share <= 1.0:
            raise ValueError(f"member_share must be between 0 and 1, got {self.member_share}")
        if self.early_member_s is not None and not 5 <= self.early_member_s <= self.duration_s:
            raise ValueError(
                f"early_member_s must be between 5 and duration_s ({self.duration_s}), "
                f"got {self.early_member_s}"
            )

    @property
    def close_ms(self) -> int:
        return self.start_ms + int(self.duration_s * 1000)


@dataclass(frozen=True, slots=True)
class Scenario:
    emissions: list[Emission]
    truth: GroundTruth
    devices: Mapping[str, str]  # device -> kind

    def by_device(self) -> dict[str, list[Emission]]:
        grouped: dict[str, list[Emission]] = {device: [] for device in self.devices}
        for emission in self.emissions:
            grouped[emission.device].append(emission)
        return grouped


def run_tag(seed: int, store: str, start_ms: int) -> str:
    """8 hex digits naming one run; event ids carry it so that a second run with another
    start time is not mistaken by the service for a replay of the first."""
    return hashlib.sha256(f"{seed}:{store}:{start_ms}".encode()).hexdigest()[:8]


def build_scenario(
    config: ScenarioConfig,
    *,
    members: Sequence[SimMember],
    catalog: Sequence[SimProduct],
    staff: Sequence[SimStaff] = (),
) -> Scenario:
    """Simulate the store from `config.start_ms` to closing time."""
    if not catalog:
        raise ValueError("the catalog is empty: a store needs products")
    return _Simulation(config, members, catalog, staff).run()


_EventFactory = Callable[..., AnyEvent]
_Advertiser = Callable[[int], str]  # simulated ms -> the beacon ID heard then


class _Simulation:
    def __init__(
        self,
        config: ScenarioConfig,
        members: Sequence[SimMember],
        catalog: Sequence[SimProduct],
        staff: Sequence[SimStaff],
    ) -> None:
        self.config = config
        self.members = members
        self.catalog = catalog
        self.staff = staff
        self.rng = random.Random(f"storesense-sim:{config.seed}:scenario")
        self.stock = Stock(config.seed)
        self.tag = run_tag(config.seed, config.store, config.start_ms)
        self.drafts: list[tuple[int, int, str, _EventFactory]] = []
        self.member_free_at: dict[str, float] = {}
        self.staff_free_at: dict[str, int] = {}
        self.staff_visits = 0
        self.sales = 0
        self.plans: list[VisitPlan] = []
        self.devices: Mapping[str, str] = DEVICES
        if config.stock_readers:
            self.devices = {**DEVICES, **STOCK_DEVICES}

    def run(self) -> Scenario:
        parties = []
        for number, (arrived_ms, forced) in enumerate(self._arrivals(), start=1):
            parties.append(self._visit(number, arrived_ms, forced))
        if self.config.stock_readers:
            self._stock_readers()
        emissions = self._emissions()
        truth = summarise(
            store=self.config.store,
            seed=self.config.seed,
            start_ms=self.config.start_ms,
            end_ms=self.config.close_ms,
            parties=parties,
            staff_fitting_room_visits=self.staff_visits,
            event_types=(emission.event.type for emission in emissions),
            restocks=restock_situations(emission.event for emission in emissions)
            if self.config.stock_readers
            else (),
        )
        return Scenario(emissions=emissions, truth=truth, devices=self.devices)

    # -- arrivals and who arrives ------------------------------------------------------------

    def _arrivals(self) -> list[tuple[int, SimMember | None]]:
        config = self.config
        # Nobody arrives in the last two minutes (or the last half of a very short run).
        last_ms = config.close_ms - min(_LAST_ARRIVAL_BEFORE_CLOSE_MS, int(config.duration_s * 500))
        arrivals: list[tuple[int, SimMember | None]] = []
        if config.early_member_s is not None:
            candidates = [member for member in self.members if member.recognisable]
            if not candidates:
                raise ValueError("early_member_s needs a consenting member with the app")
            early = self.rng.choice(candidates)
            # Reserved: nobody else may pick this member before their early visit.
            self.member_free_at[early.member_id] = float("inf")
            offset_s = self.rng.uniform(2.0, 0.6 * config.early_member_s)
            arrivals.append((config.start_ms + int(offset_s * 1000), early))
        rate_per_ms = config.visitors_per_hour / 3_600_000
        at = float(config.start_ms)
        while rate_per_ms > 0:
            at += self.rng.expovariate(rate_per_ms)
            if at > last_ms:
                break
            arrivals.append((int(at), None))
        return sorted(arrivals, key=lambda arrival: arrival[0])

    def _pick_member(self, arrived_ms: int) -> SimMember | None:
        if self.rng.random() >= self.config.member_share:
            return None
        free = [m for m in self.members if self.member_free_at.get(m.member_id, 0) <= arrived_ms]
        return self.rng.choice(free) if free else None

    # -- one visit -----------------------------------------------------------------------------

    def _visit(self, number: int, arrived_ms: int, forced: SimMember | None) -> VisitTruth:
        behaviour = self.config.behaviour
        member = forced or self._pick_member(arrived_ms)
        size = 2 if self.rng.random() < behaviour.couple_share else 1
        plan = plan_visit(
            self.rng,
            arrived_ms=arrived_ms,
            close_ms=self.config.close_ms,
            behaviour=behaviour,
            catalog=self.catalog,
            stock=self.stock,
        )
        self.plans.append(plan)
        if member is not None:
            # Back the same day at the earliest half an hour after leaving.
            self.member_free_at[member.member_id] = plan.left_ms + 1_800_000
        crossing = partial(DoorCrossing, count=size, door=_ENTRANCE_NAME)
        self._add(arrived_ms, DOOR_COUNTER, partial(crossing, direction="in"))
        self._add(plan.left_ms, DOOR_COUNTER, partial(crossing, direction="out"))

        app_ids: list[str] = []
        for person in range(size):
            carries_app = person == 0 and member is not None and member.app_key is not None
            if carries_app:
                assert member is not None and member.app_key is not None
                ids = self._sightings(plan, _app_advertiser(member.app_key), tx_power=None)
                app_ids = list(dict.fromkeys(ids))
            elif self.rng.random() < behaviour.anonymous_phone_share:
                advertiser, tx_power = self._anonymous_advertiser()
                self._sightings(plan, advertiser, tx_power=tx_power)

        if plan.fitting is not None:
            self._fitting_room(plan.fitting)
        sale_id, ref = self._sale(plan, member)
        return VisitTruth(
            visit=number,
            arrived_ms=arrived_ms,
            left_ms=plan.left_ms,
            party_size=size,
            member_id=member.member_id if member else None,
            consent=member.consent if member else None,
            has_app=member.has_app if member else None,
            app_ids=app_ids,
            fitting_room=plan.fitting.zone if plan.fitting else None,
            tried=[garment.item for garment in plan.fitting.garments] if plan.fitting else [],
            bought=list(plan.bought),
            sale_id=sale_id,
            member_ref=ref,
        )

    def _sightings(
        self, plan: VisitPlan, advertiser: _Advertiser, *, tx_power: int | None
    ) -> list[str]:
        heard = []
        for at_ms in self._sighting_times(plan):
            zone = plan.zone_at(at_ms)
            base = _RSSI_BY_ZONE.get(zone, _RSSI_FITTING_ROOM)
            rssi = max(-100, min(-35, round(base + self.rng.gauss(0, 5))))
            beacon = advertiser(at_ms)
            heard.append(beacon)
            self._add(
                at_ms,
                BLE_SCANNER,
                partial(BeaconSighting, beacon=beacon, rssi=rssi, zone=zone, tx_power=tx_power),
            )
        return heard

    def _sighting_times(self, plan: VisitPlan) -> Iterator[int]:
        low, high = self.config.behaviour.sighting_interval_s
        at = plan.arrived_ms + int(self.rng.uniform(1.0, 8.0) * 1000)
        while at < plan.left_ms:
            yield at
            at += int(self.rng.uniform(low, high) * 1000)

    def _anonymous_advertiser(self) -> tuple[_Advertiser, int | None]:
        draw = self.rng.random()
        if draw < _IBEACON_SHARE:
            uuid = f"{self.rng.getrandbits(128):032x}"
            uuid = f"{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:]}"
            ident = f"ibeacon:{uuid}:{self.rng.randrange(65536)}:{self.rng.randrange(65536)}"
            return _fixed(ident), -59
        if draw < 2 * _IBEACON_SHARE:
            ident = f"eddystone-uid:{self.rng.getrandbits(80):020x}:{self.rng.getrandbits(48):012x}"
            return _fixed(ident), -41
        # Someone else's app (or a non-member's install): rotates like ours, nobody holds its key.
        windows: dict[int, str] = {}

        def rotating(at_ms: int) -> str:
            window = at_ms // (WINDOW_SECONDS * 1000)
            if window not in windows:
                windows[window] = f"{self.rng.getrandbits(64):016x}"
            return windows[window]

        return rotating, None

    def _fitting_room(self, session: FittingSession) -> None:
        reader = FITTING_ROOMS[session.zone]
        for garment in session.garments:
            antenna = self.rng.randint(1, 4)
            for at_ms, action in _moves(garment.enter_ms, garment.leave_ms):
                rssi = round(self.rng.uniform(-68.0, -42.0), 1)
                self._add(
                    at_ms,
                    reader,
                    partial(
                        RfidTag,
                        epc=garment.item.epc,
                        action=action,
                        zone=session.zone,
                        antenna=antenna,
                        rssi=rssi,
                    ),
                )
        if not self.staff or self.rng.random() >= self.config.behaviour.staff_attend_share:
            return
        span = session.leave_ms - session.enter_ms
        enter_ms = session.enter_ms + int(span * self.rng.uniform(0.2, 0.6))
        free = [s for s in self.staff if self.staff_free_at.get(s.staff_id, 0) <= enter_ms]
        if not free:
            return
        assistant = self.rng.choice(free)
        leave_ms = min(enter_ms + int(self.rng.uniform(30, 90) * 1000), session.leave_ms)
        self.staff_free_at[assistant.staff_id] = leave_ms
        self.staff_visits += 1
        for at_ms, action in _moves(enter_ms, leave_ms):
            self._add(
                at_ms,
                reader,
                partial(RfidTag, epc=assistant.badge_epc, action=action, zone=session.zone),
            )

    def _sale(
        self, plan: VisitPlan, member: SimMember | None
    ) -> tuple[str | None, MemberRefKind | None]:
        if plan.sale_ms is None:
            return None, None
        behaviour = self.config.behaviour
        self.sales += 1
        sale_id = f"{self.tag}-s{self.sales:05d}"
        ref: MemberRefKind | None = None
        member_ref = None
        if member is not None and self.rng.random() < behaviour.identify_at_pos_share:
            if self.rng.random() < behaviour.card_at_pos_share:
                ref, member_ref = "card", MemberRef(card=member.card_epc)
            else:
                ref, member_ref = "phone", MemberRef(phone=member.phone)
        items = [SaleItem(qty=1, price=item.price, epc=item.epc) for item in plan.bought]
        self._add(
            plan.sale_ms,
            TILL,
            partial(
                PosSale,
                sale_id=sale_id,
                items=items,
                member=member_ref,
                total=round(sum(item.price for item in plan.bought), 2),
                currency=self.config.currency,
            ),
        )
        return sale_id, ref

    def _stock_readers(self) -> None:
        """The floor and backroom readers' events, from their own random stream: the visits
        are the same with or without them."""
        config = self.config
        moves = simulate_stock(
            random.Random(f"storesense-sim:{config.seed}:stock-readers"),
            plans=self.plans,
            catalog=self.catalog,
            stock=self.stock,
            start_ms=config.start_ms,
            close_ms=config.close_ms,
            behaviour=config.stock,
        )
        for move in moves:
            event = partial(RfidTag, epc=move.epc, action=move.action, zone=move.zone)
            self._add(move.at_ms, move.device, event)

    # -- events --------------------------------------------------------------------------------

    def _add(self, at_ms: int, device: str, make: _EventFactory) -> None:
        self.drafts.append((at_ms, len(self.drafts), device, make))

    def _emissions(self) -> list[Emission]:
        """Order drafts by time, then number each device's events in that order."""
        counters = dict.fromkeys(self.devices, 0)
        emissions = []
        for at_ms, _, device, make in sorted(self.drafts, key=lambda draft: draft[:2]):
            counters[device] += 1
            event = make(id=f"{self.tag}-{counters[device]:06d}", ts=at_ms)
            emissions.append(Emission(at_ms, device, event))
        return emissions


def _moves(enter_ms: int, leave_ms: int) -> tuple[tuple[int, Literal["enter", "leave"]], ...]:
    return ((enter_ms, "enter"), (leave_ms, "leave"))


def _app_advertiser(key: bytes) -> _Advertiser:
    return lambda at_ms: eid_at(key, at_ms / 1000)


def _fixed(ident: str) -> _Advertiser:
    return lambda _at_ms: ident
