"""Fitting-room state as pure transitions (event time, no I/O).

A room holds the garments now inside it, the staff present and, when known, the member
inside. A *session* runs from the first garment entering an empty room to the last one
leaving; a *try-on* is a garment entering during a session for the first time.
Events may arrive twice (outbox replays) or out of order (late delivery, several workers):
an enter or leave seen before changes nothing again, and an enter whose leave was applied
first still counts its try-on.
"""

from __future__ import annotations

import msgspec

# Garments whose enters and leaves a room remembers, to recognise replays and late events.
_RECENT = 256


class RoomItem(msgspec.Struct, frozen=True):
    gtin: str
    since_ms: int


class RoomState(msgspec.Struct, kw_only=True):
    items: dict[str, RoomItem] = msgspec.field(default_factory=dict)  # epc -> item
    staff: dict[str, int] = msgspec.field(default_factory=dict)  # staff id -> since
    member_id: str | None = None
    session_start_ms: int | None = None
    session_tried: list[str] = msgspec.field(default_factory=list)  # epcs
    session_staff: bool = False
    recent_leaves: dict[str, int] = msgspec.field(default_factory=dict)  # epc -> left at
    recent_enters: dict[str, list[int]] = msgspec.field(default_factory=dict)  # epc -> at
    counted: dict[str, list[int]] = msgspec.field(default_factory=dict)  # enters that were try-ons

    @property
    def occupied(self) -> bool:
        return bool(self.items)


class TryOn(msgspec.Struct, frozen=True):
    epc: str
    gtin: str
    ts_ms: int
    member_id: str | None


class FittingSession(msgspec.Struct, frozen=True):
    start_ms: int
    end_ms: int
    items: int
    staff_present: bool
    member_id: str | None


class RoomChange(msgspec.Struct, frozen=True):
    try_on: TryOn | None = None
    ended: FittingSession | None = None


NO_CHANGE = RoomChange()


def garment_enter(room: RoomState, epc: str, gtin: str, ts_ms: int) -> RoomChange:
    """A garment entered the room (mutates `room`)."""
    if ts_ms in room.recent_enters.get(epc, ()):
        # This very enter again (a replay): the same try-on, if it was one, and nothing else.
        if ts_ms in room.counted.get(epc, ()):
            return RoomChange(try_on=TryOn(epc=epc, gtin=gtin, ts_ms=ts_ms, member_id=None))
        return NO_CHANGE
    if epc in room.items:
        return NO_CHANGE  # already inside: a repeated enter
    _remember(room.recent_enters, epc, ts_ms)
    left_at = room.recent_leaves.get(epc)
    if left_at is not None and left_at >= ts_ms:
        # Its leave was applied first (late delivery, another worker): the try-on happened,
        # but the garment is no longer in the room.
        _remember(room.counted, epc, ts_ms)
        return RoomChange(try_on=TryOn(epc=epc, gtin=gtin, ts_ms=ts_ms, member_id=room.member_id))
    if room.session_start_ms is None:
        room.session_start_ms = ts_ms
        room.session_tried = []
        room.session_staff = bool(room.staff)
    room.items[epc] = RoomItem(gtin=gtin, since_ms=ts_ms)
    if epc in room.session_tried:
        return NO_CHANGE  # back in the same session: one try-on
    room.session_tried.append(epc)
    _remember(room.counted, epc, ts_ms)
    return RoomChange(try_on=TryOn(epc=epc, gtin=gtin, ts_ms=ts_ms, member_id=room.member_id))


def garment_leave(room: RoomState, epc: str, ts_ms: int) -> RoomChange:
    """A garment left the room (mutates `room`); the last one out ends the session."""
    item = room.items.get(epc)
    if item is None or item.since_ms > ts_ms:
        _remember_leave(room, epc, ts_ms)
        return NO_CHANGE
    del room.items[epc]
    _remember_leave(room, epc, ts_ms)
    if room.items or room.session_start_ms is None:
        return NO_CHANGE
    ended = FittingSession(
        start_ms=room.session_start_ms,
        end_ms=ts_ms,
        items=len(room.session_tried),
        staff_present=room.session_staff,
        member_id=room.member_id,
    )
    room.session_start_ms = None
    room.session_tried = []
    room.session_staff = False
    room.member_id = None
    return RoomChange(ended=ended)


def staff_enter(room: RoomState, staff_id: str, ts_ms: int) -> None:
    room.staff.setdefault(staff_id, ts_ms)
    if room.session_start_ms is not None:
        room.session_staff = True


def staff_leave(room: RoomState, staff_id: str) -> None:
    room.staff.pop(staff_id, None)


def member_inside(room: RoomState, member_id: str) -> None:
    room.member_id = member_id


def _remember_leave(room: RoomState, epc: str, ts_ms: int) -> None:
    room.recent_leaves[epc] = max(ts_ms, room.recent_leaves.get(epc, ts_ms))
    if len(room.recent_leaves) > _RECENT:
        oldest = min(room.recent_leaves, key=room.recent_leaves.__getitem__)
        del room.recent_leaves[oldest]


def _remember(enters: dict[str, list[int]], epc: str, ts_ms: int) -> None:
    times = enters.setdefault(epc, [])
    times.append(ts_ms)
    del times[:-4]  # a few per garment is enough to spot replays
    if len(enters) > _RECENT:
        oldest = min(enters, key=lambda key: enters[key][-1])
        del enters[oldest]
