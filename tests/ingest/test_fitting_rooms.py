from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import fitting_rooms as fr


def test_session_runs_from_first_garment_in_to_last_out_with_one_try_on_each() -> None:
    room = fr.RoomState()
    first = fr.garment_enter(room, "e1", "g1", 1000)
    fr.garment_enter(room, "e2", "g2", 2000)
    assert first.try_on == fr.TryOn(epc="e1", gtin="g1", ts_ms=1000, member_id=None)
    assert fr.garment_leave(room, "e1", 5000) == fr.NO_CHANGE
    ended = fr.garment_leave(room, "e2", 9000).ended
    assert ended == fr.FittingSession(
        start_ms=1000, end_ms=9000, items=2, staff_present=False, member_id=None
    )
    assert not room.occupied


def test_a_garment_back_in_the_same_session_is_one_try_on() -> None:
    room = fr.RoomState()
    fr.garment_enter(room, "e1", "g1", 1000)
    fr.garment_enter(room, "e2", "g2", 1100)
    fr.garment_leave(room, "e1", 2000)
    assert fr.garment_enter(room, "e1", "g1", 3000).try_on is None


def test_replayed_events_change_no_state_and_repeat_their_try_on() -> None:
    room = fr.RoomState()
    first = fr.garment_enter(room, "e1", "g1", 1000).try_on
    assert first is not None
    before = fr.RoomState(**{f: getattr(room, f) for f in room.__struct_fields__})
    again = fr.garment_enter(room, "e1", "g1", 1000)  # replay while inside
    assert again.try_on is not None and again.try_on.ts_ms == first.ts_ms
    assert room == before
    fr.garment_leave(room, "e1", 4000)
    assert fr.garment_leave(room, "e1", 4000) == fr.NO_CHANGE  # replay of the leave
    after_leave = fr.garment_enter(room, "e1", "g1", 1000)  # replay after leaving
    assert after_leave.try_on is not None and not room.occupied
    fr.garment_enter(room, "e2", "g2", 5000)
    assert fr.garment_enter(room, "e2", "g2", 6000) == fr.NO_CHANGE  # a repeated enter


def test_staff_and_member_are_recorded_on_the_session() -> None:
    room = fr.RoomState()
    fr.member_inside(room, "m1")
    tried = fr.garment_enter(room, "e1", "g1", 1000).try_on
    fr.staff_enter(room, "s1", 1500)
    ended = fr.garment_leave(room, "e1", 3000).ended
    assert tried is not None and tried.member_id == "m1"
    assert ended is not None and ended.staff_present and ended.member_id == "m1"
    assert room.member_id is None  # the next session's customer is someone else


moves = st.lists(
    st.tuples(st.sampled_from(["e1", "e2", "e3"]), st.booleans(), st.integers(0, 50)),
    max_size=40,
)


@settings(deadline=None)
@given(moves)
def test_sessions_and_try_ons_stay_consistent(steps: list[tuple[str, bool, int]]) -> None:
    room = fr.RoomState()
    ts = 0
    try_ons = sessions_ended = 0
    for epc, entering, step in steps:
        ts += step
        change = (
            fr.garment_enter(room, epc, "g", ts) if entering else fr.garment_leave(room, epc, ts)
        )
        try_ons += change.try_on is not None
        if change.ended is not None:
            sessions_ended += 1
            assert change.ended.items >= 1 and change.ended.end_ms >= change.ended.start_ms
        assert room.occupied == (room.session_start_ms is not None)
        assert set(room.items) <= set(room.session_tried)
    # every try-on belongs to an ended session or the one still open
    assert try_ons >= sessions_ended


def test_leave_applied_before_its_enter_still_counts_the_try_on_once() -> None:
    room = fr.RoomState()
    assert fr.garment_leave(room, "e1", 5000) == fr.NO_CHANGE
    late = fr.garment_enter(room, "e1", "g1", 1000)
    assert late.try_on is not None and late.try_on.ts_ms == 1000
    assert not room.occupied
    replay = fr.garment_enter(room, "e1", "g1", 1000)  # its replay: the same try-on again
    assert replay.try_on is not None and replay.try_on.ts_ms == 1000 and not room.occupied
