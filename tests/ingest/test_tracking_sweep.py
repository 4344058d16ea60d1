"""The sweep finds lapsed visits through the store's visit index, not by scanning the state
store (a scan walks every key, dedupe keys included); a store without an index is scanned
once and indexed."""

from __future__ import annotations

import pytest

from ingest.identity import Directory
from ingest.tracking import Tracked, Tracker
from storesense.backends.state.memory import MemoryState
from storesense.backends.timeseries.base import Point
from storesense.protocol.decode import AcceptedEvent
from storesense.protocol.events import RfidTag
from storesense.registry.members import Member
from storesense.settings import IngestSettings

GAP_S = 600
T0 = 1_795_658_400_000
MEMBERS = [
    Member(member_id=f"m{n}", name=f"M {n}", consent=True, card_epcs=(f"e2{n:022x}",))
    for n in range(3)
]


class CountingState(MemoryState):
    def __init__(self) -> None:
        super().__init__()
        self.scans = 0

    async def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        self.scans += 1
        return await super().scan(prefix)


DIRECTORY = Directory(MEMBERS)


@pytest.fixture
def state() -> CountingState:
    return CountingState()


def card_read(member: Member, ts_ms: int, event_id: str) -> AcceptedEvent:
    event = RfidTag(id=event_id, ts=ts_ms, epc=member.card_epcs[0], action="enter", zone="floor")
    return AcceptedEvent("s1", "reader", event, b"{}")


async def see(tracker: Tracker, member: Member, ts_ms: int, replay: bool = False) -> Tracked:
    out = Tracked()
    event = card_read(member, ts_ms, f"{member.member_id}-{ts_ms}")
    await tracker.apply(event, DIRECTORY, out, replay)
    return out


def ended(points: list[Point]) -> list[str]:
    return sorted(str(p.fields["member_id"]) for p in points if p.measurement == "visit_end")


async def test_sweep_closes_lapsed_visits_from_the_index_without_scanning(
    state: CountingState,
) -> None:
    tracker = Tracker(state, IngestSettings(visit_gap_s=GAP_S))
    await see(tracker, MEMBERS[0], T0)
    await see(tracker, MEMBERS[1], T0 + 500_000)
    assert ended(await tracker.sweep("s1", T0 + 10_000)) == []
    assert ended(await tracker.sweep("s1", T0 + 700_000)) == ["m0"]
    assert ended(await tracker.sweep("s1", T0 + 700_000)) == []  # once
    assert ended(await tracker.sweep("s1", T0 + 2_000_000)) == ["m1"]
    assert state.scans == 0


async def test_a_visit_that_goes_on_is_checked_again_only_after_its_last_sighting(
    state: CountingState,
) -> None:
    tracker = Tracker(state, IngestSettings(visit_gap_s=GAP_S))
    await see(tracker, MEMBERS[0], T0)
    await see(tracker, MEMBERS[0], T0 + 500_000)  # same visit, seen later
    assert ended(await tracker.sweep("s1", T0 + 700_000)) == []
    assert ended(await tracker.sweep("s1", T0 + 1_000_000)) == []
    assert ended(await tracker.sweep("s1", T0 + 1_200_000)) == ["m0"]


async def test_a_new_visit_after_a_closed_one_is_swept_too(state: CountingState) -> None:
    tracker = Tracker(state, IngestSettings(visit_gap_s=GAP_S))
    await see(tracker, MEMBERS[0], T0)
    assert ended(await tracker.sweep("s1", T0 + 700_000)) == ["m0"]
    await see(tracker, MEMBERS[0], T0 + 800_000)
    assert ended(await tracker.sweep("s1", T0 + 1_500_000)) == ["m0"]


async def test_visits_without_an_index_are_found_by_one_scan(state: CountingState) -> None:
    tracker = Tracker(state, IngestSettings(visit_gap_s=GAP_S))
    await see(tracker, MEMBERS[0], T0)
    await see(tracker, MEMBERS[1], T0 + 500_000)
    await state.update("visits:s1", lambda _: (None, None))  # as before the index existed
    assert ended(await tracker.sweep("s1", T0 + 700_000)) == ["m0"]
    assert ended(await tracker.sweep("s1", T0 + 2_000_000)) == ["m1"]
    assert state.scans == 1


async def test_a_replayed_visit_start_puts_a_lost_index_entry_back(state: CountingState) -> None:
    tracker = Tracker(state, IngestSettings(visit_gap_s=GAP_S))
    await see(tracker, MEMBERS[0], T0)
    await see(tracker, MEMBERS[1], T0)
    # A worker killed between the visit update and the index update: m1 is not indexed.
    await state.update("visits:s1", lambda _: (b'{"m0":' + str(T0).encode() + b"}", None))
    await see(tracker, MEMBERS[1], T0, replay=True)
    assert ended(await tracker.sweep("s1", T0 + 700_000)) == ["m0", "m1"]
