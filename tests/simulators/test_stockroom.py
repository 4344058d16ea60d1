"""Floor and backroom readers (`stock_readers`): opt-in, physically consistent stock, and the
restock situations of the truth."""

from __future__ import annotations

import msgspec
import pytest

from simulators.catalog import generate_catalog
from simulators.scenario import DEVICES
from simulators.stockroom import STOCK_DEVICES, StockBehaviour, restock_situations
from simulators.truth import GroundTruth
from storesense.protocol.events import AnyEvent, PosSale, RfidTag, SaleItem
from storesense.protocol.sgtin import encode_sgtin96
from tests.simulators.test_scenario import START_MS, Day, simulate


@pytest.fixture(scope="module")
def plain() -> Day:
    return simulate(11, hours=3)


@pytest.fixture(scope="module")
def stocked() -> Day:
    return simulate(11, hours=3, stock_readers=True)


def stock_events(day: Day) -> list[RfidTag]:
    return [
        e.event
        for e in day.scenario.emissions
        if e.device in STOCK_DEVICES and isinstance(e.event, RfidTag)
    ]


def test_stock_readers_are_opt_in(plain: Day) -> None:
    assert dict(plain.scenario.devices) == dict(DEVICES)
    assert not any(e.device in STOCK_DEVICES for e in plain.scenario.emissions)
    assert plain.scenario.truth.restocks == []
    assert b"restocks" not in msgspec.json.encode(plain.scenario.truth)


def test_the_visits_are_the_same_with_stock_readers(plain: Day, stocked: Day) -> None:
    others = [e for e in stocked.scenario.emissions if e.device not in STOCK_DEVICES]
    assert others == plain.scenario.emissions
    assert stocked.scenario.truth.parties == plain.scenario.truth.parties
    assert dict(stocked.scenario.devices) == {**DEVICES, **STOCK_DEVICES}
    again = simulate(11, hours=3, stock_readers=True)
    assert again.scenario.emissions == stocked.scenario.emissions
    truth = msgspec.json.decode(msgspec.json.encode(stocked.scenario.truth), type=GroundTruth)
    assert truth == stocked.scenario.truth and truth.restocks


def test_garments_move_like_garments(stocked: Day) -> None:
    """Each tag is in one place at a time; a leave follows an enter in that zone; tried
    garments leave the floor or backroom before the fitting room and come back to the floor
    after it unless bought; sold items are in neither; staff carry items out."""
    where: dict[str, str] = {}  # epc -> floor or backroom zone
    came_back, carried = 0, 0
    out_of_backroom: set[str] = set()
    for emission in stocked.scenario.emissions:
        event = emission.event
        if isinstance(event, PosSale):
            assert all(item.epc not in where for item in event.items)
            continue
        if not isinstance(event, RfidTag) or event.epc.startswith("e28"):
            continue  # cards and badges
        if event.zone.startswith(("floor", "backroom")):
            if event.action == "enter":
                assert event.epc not in where
                where[event.epc] = event.zone
                if event.zone.startswith("floor") and event.ts_ms > START_MS:
                    if event.epc in out_of_backroom:
                        carried += 1
                    else:
                        came_back += 1
            else:
                assert where.pop(event.epc) == event.zone
                if event.zone == "backroom":
                    out_of_backroom.add(event.epc)
        elif event.action == "enter":
            assert event.zone.startswith("fitting-room") and event.epc not in where
    assert came_back > 20 and carried > 5
    parties = stocked.scenario.truth.parties
    epcs = [item.epc for party in parties for item in {*party.tried, *party.bought}]
    assert len(epcs) == len(set(epcs))  # a garment still belongs to one visit at most
    read_in = {e.epc for e in stock_events(stocked) if e.ts_ms == START_MS}
    assert set(epcs) <= read_in  # every garment shoppers took was in the store at opening


def test_restock_situations_follow_the_floor_and_backroom() -> None:
    gtins = [p.gtin for p in generate_catalog(3)[:3]]
    a, b, c = ([encode_sgtin96(g, n, company_prefix_length=7) for n in (1, 2, 3)] for g in gtins)
    t = START_MS
    seq = [0]

    def tag(epc: str, action: str, zone: str, at: int) -> RfidTag:
        seq[0] += 1
        return RfidTag(id=f"e{seq[0]}", ts=at, epc=epc, action=action, zone=zone)  # type: ignore[arg-type]

    def sale(epc: str, at: int) -> PosSale:
        seq[0] += 1
        item = SaleItem(qty=1, price=1.0, epc=epc)
        return PosSale(id=f"e{seq[0]}", ts=at, sale_id=f"s{seq[0]}", items=[item], member=None)

    events: list[AnyEvent] = [
        tag(a[0], "enter", "floor-1", t),
        tag(a[1], "enter", "backroom", t),
        tag(b[0], "enter", "backroom", t + 1),  # B: never on the floor, out from its first read
        tag(c[0], "enter", "floor-2", t),  # C: nothing in the backroom
        tag(a[0], "leave", "floor-1", t + 10),  # A's floor runs out
        tag(a[0], "enter", "fitting-room-1", t + 20),  # situation 1
        tag(a[0], "leave", "fitting-room-1", t + 30),
        tag(a[2], "enter", "fitting-room-2", t + 40),  # the same outage: no other
        sale(a[0], t + 50),
        tag(a[1], "leave", "backroom", t + 60),  # restocked...
        tag(a[1], "enter", "floor-2", t + 70),
        tag(a[2], "enter", "fitting-room-1", t + 80),  # ...so not while it is on the floor
        tag(a[0], "enter", "backroom", t + 85),
        sale(a[1], t + 90),  # out again, by a sale: situation 2 at the next try-on
        tag(a[2], "enter", "fitting-room-2", t + 95),
        tag(b[1], "enter", "fitting-room-2", t + 100),  # situation 3, out since t + 1
        tag(c[0], "leave", "floor-2", t + 110),
        tag(c[0], "enter", "fitting-room-1", t + 120),  # no backroom: none
        tag("e28011900000000000000001", "enter", "fitting-room-1", t + 130),  # a card
    ]
    found = restock_situations(events)
    assert [(s.gtin, s.floor_out_ms, s.tried_ms, s.backroom) for s in found] == [
        (gtins[0], t + 10, t + 20, 1),
        (gtins[0], t + 90, t + 95, 1),
        (gtins[1], t + 1, t + 100, 1),
    ]
    assert found[0].subject == f"{gtins[0]}@{t + 10}" and found[0].zone == "fitting-room-1"


def test_stock_behaviour_is_checked() -> None:
    with pytest.raises(ValueError, match="restock_items"):
        StockBehaviour(restock_items=0)
    with pytest.raises(ValueError, match="floor_weights"):
        StockBehaviour(floor_weights=(0, 0, 0))
