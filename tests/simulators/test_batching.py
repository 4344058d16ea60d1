from __future__ import annotations

import json

import pytest

from simulators.batching import batch_emissions
from simulators.scenario import Emission
from storesense.protocol.events import DoorCrossing, PosSale, SaleItem

T0 = 1_780_000_000_000


def door(device: str, n: int, at_ms: int) -> Emission:
    return Emission(at_ms, device, DoorCrossing(id=f"{device}-{n}", ts=at_ms, direction="in"))


def stream() -> list[Emission]:
    # Two devices interleaved, one event every 100 ms each.
    return [door(device, n, T0 + n * 100) for n in range(50) for device in ("door-1", "door-2")]


def test_batch_size_one_sends_single_objects() -> None:
    emissions = stream()
    messages = batch_emissions(emissions, batch_size=1)
    assert len(messages) == len(emissions)
    assert all(json.loads(m.payload)["type"] == "door.crossing" for m in messages)
    assert [m.at_ms for m in messages] == [e.at_ms for e in emissions]


@pytest.mark.parametrize(("batch_size", "linger_ms"), [(2, 10_000), (7, 10_000), (500, 350)])
def test_batches_keep_every_event_once_in_device_order(batch_size: int, linger_ms: int) -> None:
    emissions = stream()
    messages = batch_emissions(emissions, batch_size=batch_size, linger_ms=linger_ms)
    assert [m.at_ms for m in messages] == sorted(m.at_ms for m in messages)
    for device in ("door-1", "door-2"):
        sent = [e for m in messages if m.device == device for e in m.events]
        assert sent == [e.event for e in emissions if e.device == device]
    for message in messages:
        assert 1 <= len(message.events) <= batch_size
        assert [e["id"] for e in json.loads(message.payload)] == [e.id for e in message.events]
        # A message goes out no earlier than its last event, no later than the linger allows.
        assert message.events[-1].ts_ms <= message.at_ms <= message.events[0].ts_ms + linger_ms


def test_linger_flushes_a_partial_batch() -> None:
    emissions = [door("door-1", n, T0 + n * 1000) for n in range(5)]
    messages = batch_emissions(emissions, batch_size=500, linger_ms=1500)
    assert [len(m.events) for m in messages] == [2, 2, 1]
    assert [m.at_ms for m in messages] == [T0 + 1500, T0 + 3500, T0 + 5500]


def test_oversized_batches_are_split_under_the_byte_limit() -> None:
    items = [SaleItem(qty=1, price=9.5, gtin="80614141123458") for _ in range(50)]
    sales = [
        Emission(T0 + n, "pos-1", PosSale(id=str(n), ts=T0 + n, sale_id=f"s{n}", items=items))
        for n in range(40)
    ]
    messages = batch_emissions(sales, batch_size=40, linger_ms=10_000, max_bytes=8_000)
    assert len(messages) > 1
    assert all(len(m.payload) <= 8_000 for m in messages)
    assert [e for m in messages for e in m.events] == [s.event for s in sales]


@pytest.mark.parametrize("batch_size", [0, 501])
def test_batch_size_is_bounded_by_the_protocol(batch_size: int) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        batch_emissions(stream(), batch_size=batch_size)
