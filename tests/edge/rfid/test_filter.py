from __future__ import annotations

from collections.abc import Iterable

import pytest

from edge.rfid.filter import FilterConfig, PresenceChange, PresenceFilter, ZoneParams
from edge.rfid.reads import RawRead

T0 = 1_764_151_200_000
EPC = "3074257bf7194e4000001a85"
OTHER = "3074257bf7194e4000001a86"
R1, R2 = "fitting-room-1", "fitting-room-2"
ANTENNAS = {1: R1, 2: R1, 3: R2, 4: R2}


def make(**kwargs: object) -> PresenceFilter:
    """Defaults: 3 reads within 2 s to enter, 10 s silent to leave, 6 dB margin."""
    return PresenceFilter(FilterConfig(antennas=ANTENNAS, **kwargs))  # type: ignore[arg-type]


def reads(antenna: int, start: int, count: int, *, every: int = 250, rssi: float = -55.0,
          epc: str = EPC) -> list[RawRead]:  # fmt: skip
    return [RawRead(T0 + start + i * every, epc, antenna, rssi) for i in range(count)]


def brief(changes: Iterable[PresenceChange]) -> list[tuple[str, str, int]]:
    """(action, zone, ms since T0) of each change."""
    return [(c.action, c.zone, c.ts_ms - T0) for c in changes]


def test_enters_on_the_nth_read_within_the_window() -> None:
    f = make()
    assert f.feed(reads(1, 0, 2)) == []
    (change,) = f.feed(reads(2, 500, 1, rssi=-50.0))
    assert change == PresenceChange(EPC, R1, "enter", T0 + 500, 2, -50.0)
    assert f.present() == {EPC: R1}


def test_reads_spread_wider_than_the_window_never_enter() -> None:
    f = make()
    assert f.feed(reads(1, 0, 20, every=1_100)) == []  # at most 2 reads in any 2 s
    assert f.present() == {}


def test_window_is_half_open_a_read_exactly_w_old_has_left_it() -> None:
    f = make()
    assert f.feed(reads(1, 0, 3, every=1_000)) == []  # (0, 2000] holds 1000 and 2000 only
    assert brief(f.feed(reads(1, 2_500, 1))) == [("enter", R1, 2_500)]


def test_leaves_after_t_of_silence_stamped_at_last_read_plus_t() -> None:
    f = make()
    f.feed(reads(1, 0, 4))  # last read at 750
    assert f.tick(T0 + 750 + 9_999) == []
    assert brief(f.tick(T0 + 60_000)) == [("leave", R1, 10_750)]
    assert f.present() == {}
    assert f.tick(T0 + 120_000) == []


def test_leave_carries_the_antenna_and_rssi_of_the_last_read() -> None:
    f = make()
    f.feed(reads(1, 0, 3) + reads(2, 750, 1, rssi=-61.0))
    (leave,) = f.tick(T0 + 60_000)
    assert (leave.antenna, leave.rssi) == (2, -61.0)


def test_regular_reads_keep_a_tag_present() -> None:
    f = make()
    changes = f.feed(reads(1, 0, 300, every=900))  # 270 s of reads every 0.9 s
    assert brief(changes) == [("enter", R1, 1_800)]


def test_another_tags_read_advances_time_and_times_out_the_first() -> None:
    f = make()
    f.feed(reads(1, 0, 3))  # last read at 500 -> due at 10500
    changes = f.feed(reads(3, 10_500, 3, epc=OTHER))
    assert [(c.epc, *brief([c])[0]) for c in changes] == [
        (EPC, "leave", R1, 10_500),
        (OTHER, "enter", R2, 11_000),
    ]


def test_a_tag_reenters_after_leaving() -> None:
    f = make()
    first = f.feed(reads(1, 0, 3))
    second = f.feed(reads(1, 30_000, 3))
    assert brief(first + second) == [
        ("enter", R1, 500),
        ("leave", R1, 10_500),
        ("enter", R1, 30_500),
    ]


def test_weaker_cross_reads_from_the_next_room_do_not_place_the_tag_there() -> None:
    f = make()
    stream = sorted(
        reads(1, 0, 40, rssi=-55.0) + reads(3, 10, 40, rssi=-72.0), key=lambda r: r.ts_ms
    )
    assert brief(f.feed(stream) + f.drain()) == [("enter", R1, 500), ("leave", R1, 19_750)]


def test_entry_waits_while_a_stronger_zone_is_also_reading_the_tag() -> None:
    f = make()
    # The next room's wall antenna happens to reach 3 reads first; room 1's single read is
    # much stronger, so the tag waits instead of entering room 2.
    assert f.feed(reads(1, 0, 1, rssi=-50.0)) == []
    assert f.feed(reads(3, 100, 3, every=100, rssi=-72.0)) == []
    assert brief(f.feed(reads(1, 400, 2, rssi=-50.0))) == [("enter", R1, 650)]


def test_entry_within_the_margin_goes_to_the_zone_with_more_reads() -> None:
    # Room 2 needs fewer reads and reads the tag slightly stronger (3 dB, inside the 6 dB
    # margin), but room 1 reads it far more often: room 1 it is, once it is eligible.
    f = make(zones={R1: ZoneParams(min_reads=5), R2: ZoneParams(min_reads=2)})
    stream = sorted(
        reads(3, 0, 3, every=500, rssi=-58.0) + reads(1, 50, 8, every=150, rssi=-61.0),
        key=lambda r: r.ts_ms,
    )
    assert brief(f.feed(stream)) == [("enter", R1, 650)]


def test_entry_goes_to_a_zone_stronger_by_more_than_the_margin_despite_fewer_reads() -> None:
    f = make(zones={R1: ZoneParams(min_reads=5), R2: ZoneParams(min_reads=2)})
    stream = sorted(
        reads(3, 0, 3, every=500, rssi=-50.0) + reads(1, 50, 8, every=150, rssi=-61.0),
        key=lambda r: r.ts_ms,
    )
    assert brief(f.feed(stream))[:1] == [("enter", R2, 500)]


def test_switch_needs_more_than_the_margin() -> None:
    f = make()  # margin 6 dB
    f.feed(reads(1, 0, 8, rssi=-60.0))
    stronger_by_4 = sorted(
        reads(1, 2_000, 8, rssi=-60.0) + reads(3, 2_010, 8, rssi=-56.0), key=lambda r: r.ts_ms
    )
    assert f.feed(stronger_by_4) == []
    stronger_by_10 = sorted(
        reads(1, 4_000, 8, rssi=-60.0) + reads(3, 4_010, 8, rssi=-50.0), key=lambda r: r.ts_ms
    )
    changes = f.feed(stronger_by_10)
    assert [c.action for c in changes] == ["leave", "enter"]
    assert [c.zone for c in changes] == [R1, R2]
    assert changes[0].ts_ms == changes[1].ts_ms
    assert f.present() == {EPC: R2}


def test_switch_margin_is_configurable() -> None:
    f = make(switch_margin_db=2.0)
    f.feed(reads(1, 0, 8, rssi=-60.0))
    stream = sorted(
        reads(1, 2_000, 8, rssi=-60.0) + reads(3, 2_010, 8, rssi=-56.0), key=lambda r: r.ts_ms
    )
    assert [c.action for c in f.feed(stream)] == ["leave", "enter"]


def test_occlusion_does_not_hand_the_tag_to_the_next_rooms_cross_reads() -> None:
    f = make()
    f.feed(reads(1, 0, 8, rssi=-55.0))  # in room 1 until 1750
    # Room 1 is blocked for 4 s; room 2's wall antenna keeps reading it, weakly.
    assert f.feed(reads(3, 2_000, 16, rssi=-70.0)) == []
    assert f.present() == {EPC: R1}
    # Had it really moved, room 2 reads it strongly: now it switches.
    assert [c.action for c in f.feed(reads(3, 6_000, 12, rssi=-45.0))] == ["leave", "enter"]


def test_moved_at_equal_strength_leaves_by_timeout_then_enters() -> None:
    f = make()
    f.feed(reads(1, 0, 8, rssi=-55.0))  # last read in room 1 at 1750
    changes = f.feed(reads(3, 3_000, 60, rssi=-55.0))  # room 2 from 3 s, through 17.75 s
    assert brief(changes) == [("leave", R1, 11_750), ("enter", R2, 11_750)]


@pytest.mark.parametrize(
    ("zone_params", "expected"),
    [
        ({}, [("enter", R2, 500), ("leave", R2, 11_000)]),
        ({R2: ZoneParams(min_reads=5)}, [("enter", R2, 1_000), ("leave", R2, 11_000)]),
        ({R2: ZoneParams(leave_after_ms=3_000)}, [("enter", R2, 500), ("leave", R2, 4_000)]),
        ({R2: ZoneParams(window_ms=400)}, []),  # 250 ms apart: at most 2 reads in 400 ms
        ({R1: ZoneParams(min_reads=50)}, [("enter", R2, 500), ("leave", R2, 11_000)]),
    ],
)
def test_zones_have_their_own_parameters(
    zone_params: dict[str, ZoneParams], expected: list[tuple[str, str, int]]
) -> None:
    f = make(zones=zone_params)
    assert brief(f.feed(reads(3, 0, 5)) + f.drain()) == expected


def test_reads_below_a_zones_min_rssi_are_ignored() -> None:
    f = make(zones={R2: ZoneParams(min_rssi=-70.0)})
    assert f.feed(reads(3, 0, 10, rssi=-75.0)) == []
    assert f.stats.weak == 10
    assert brief(f.feed(reads(3, 3_000, 3, rssi=-65.0))) == [("enter", R2, 3_500)]


def test_reads_from_unmapped_antennas_are_ignored_and_counted() -> None:
    f = make()
    assert f.feed(reads(9, 0, 10)) == []
    assert (f.stats.reads, f.stats.unmapped, f.tracked) == (10, 10, 0)


def test_reads_without_rssi_still_count() -> None:
    f = make()
    stream = [RawRead(T0 + i * 250, EPC, 1, None) for i in range(3)]
    assert brief(f.feed(stream)) == [("enter", R1, 500)]


def test_a_slightly_late_read_counts_at_the_current_time() -> None:
    f = make()
    f.feed([RawRead(T0, EPC, 1, -55.0), RawRead(T0 + 1_000, EPC, 1, -55.0)])
    f.feed(reads(3, 1_900, 1, epc=OTHER))  # the clock is now 1900
    (change,) = f.feed([RawRead(T0 + 800, EPC, 2, -50.0)])  # 1.1 s late: third read
    assert (change.action, change.ts_ms) == ("enter", T0 + 1_900)  # never back in time
    assert f.stats.late == 0


def test_a_read_exactly_max_late_late_still_counts() -> None:
    f = make(max_late_ms=500)
    f.feed(reads(1, 0, 2))  # 0, 250
    f.feed(reads(3, 750, 1, epc=OTHER))
    assert brief(f.feed(reads(1, 250, 1))) == [("enter", R1, 750)]


def test_a_rival_read_exactly_a_window_old_no_longer_counts() -> None:
    f = make()
    f.feed(reads(1, 0, 1, rssi=-50.0))  # strong, but 2 s old when room 2 is eligible
    assert brief(f.feed(reads(3, 1_000, 3, every=500, rssi=-70.0))) == [("enter", R2, 2_000)]


def test_a_read_later_than_max_late_is_dropped() -> None:
    f = make(max_late_ms=500)
    f.feed(reads(1, 0, 2))
    f.feed(reads(3, 5_000, 1, epc=OTHER))
    assert f.feed(reads(1, 4_000, 1)) == []  # 1 s late: dropped, not a third read
    assert f.stats.late == 1
    assert f.present() == {}


def test_a_late_read_cannot_resurrect_a_tag_that_left() -> None:
    f = make(max_late_ms=2_000)
    f.feed(reads(1, 0, 3))  # last read 500: leaves at 10500
    f.feed(reads(3, 20_000, 1, epc=OTHER))
    assert brief(f.feed(reads(1, 10_000, 1))) == []  # 10 s late: dropped
    assert f.present() == {}


def test_ticks_never_move_time_backwards() -> None:
    f = make()
    f.feed(reads(1, 0, 3))
    assert brief(f.tick(T0 + 20_000)) == [("leave", R1, 10_500)]
    assert f.tick(T0 + 5_000) == []
    assert f.clock_ms == T0 + 20_000


def test_drain_times_everything_out_at_its_own_due_time() -> None:
    f = make(zones={R2: ZoneParams(leave_after_ms=4_000)})
    f.feed(reads(1, 0, 3) + reads(3, 1_000, 3, epc=OTHER))
    assert [(c.epc, c.ts_ms - T0) for c in f.drain()] == [(OTHER, 5_500), (EPC, 10_500)]
    assert f.tracked == 0


def test_tags_that_never_entered_are_forgotten() -> None:
    f = make()
    f.feed(reads(3, 0, 2))  # 2 reads: not eligible, but tracked
    assert f.tracked == 1
    f.tick(T0 + 2_251)  # its window is empty now
    assert f.tracked == 0


def test_reconfigure_removing_a_zone_makes_its_tags_leave_now() -> None:
    f = make()
    f.feed(reads(1, 0, 3) + reads(3, 0, 3, epc=OTHER))
    f.tick(T0 + 4_000)
    changes = f.reconfigure(FilterConfig(antennas={1: R1, 2: R1}))
    assert [(c.epc, *brief([c])[0]) for c in changes] == [(OTHER, "leave", R2, 4_000)]
    assert f.present() == {EPC: R1}
    assert f.feed(reads(3, 5_000, 5, epc=OTHER)) == []  # antenna 3 is unmapped now


def test_reconfigure_shortening_the_timeout_applies_to_present_tags() -> None:
    f = make()
    f.feed(reads(1, 0, 3))  # due at 10500 with T = 10 s
    f.tick(T0 + 2_000)
    assert f.reconfigure(FilterConfig(ANTENNAS, default=ZoneParams(leave_after_ms=1_000))) == []
    assert brief(f.tick(T0 + 2_001)) == [("leave", R1, 2_000)]  # due 1500, not before now


@pytest.mark.parametrize(
    ("kwargs", "complaint"),
    [
        ({"min_reads": 0}, "min_reads"),
        ({"window_ms": 0}, "window_ms"),
        ({"leave_after_ms": 0}, "leave_after_ms"),
    ],
)
def test_zone_params_are_validated(kwargs: dict[str, int], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        ZoneParams(**kwargs)


def test_filter_config_is_validated() -> None:
    with pytest.raises(ValueError, match="no antenna"):
        FilterConfig(antennas=ANTENNAS, zones={"backroom": ZoneParams()})
    with pytest.raises(ValueError, match="switch_margin_db"):
        FilterConfig(antennas=ANTENNAS, switch_margin_db=-1)
