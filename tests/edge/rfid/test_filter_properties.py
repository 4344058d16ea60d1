"""Property tests of the presence filter: invariants of its output on arbitrary read streams,
and agreement with a slow, obviously-correct reference implementation of the documented
policy (full read histories, recomputed windows, a scan for timeouts)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.rfid.filter import (
    NO_RSSI_DBM,
    FilterConfig,
    PresenceChange,
    PresenceFilter,
    ZoneParams,
)
from edge.rfid.reads import RawRead

T0 = 1_764_151_200_000
EPCS = ("3074257bf7194e4000001a85", "3074257bf7194e4000001a86", "e2801160600002054e2b1c3f")
ZONES = ("fitting-room-1", "fitting-room-2", "floor")
ANTENNAS = {1: ZONES[0], 2: ZONES[0], 3: ZONES[1], 4: ZONES[2]}  # 9: unmapped


@st.composite
def configs(draw: st.DrawFn) -> FilterConfig:
    def params() -> ZoneParams:
        return ZoneParams(
            min_reads=draw(st.integers(1, 4)),
            window_ms=draw(st.integers(100, 3_000)),
            leave_after_ms=draw(st.integers(200, 6_000)),
            min_rssi=draw(st.none() | st.sampled_from([-75.0, -65.0])),
        )

    zones = draw(st.lists(st.sampled_from(ZONES), unique=True, max_size=3))
    return FilterConfig(
        antennas=ANTENNAS,
        default=params(),
        zones={zone: params() for zone in zones},
        switch_margin_db=draw(st.sampled_from([0.0, 3.0, 6.0])),
        max_late_ms=draw(st.integers(0, 1_500)),
    )


# Small steps fill windows, large ones cross timeouts; levels a few dB apart straddle the
# margins; integers keep float sums exact, so the two implementations can be compared.
_STEP = st.sampled_from([0, 10, 100, 100, 250, 250, 400, 1_000, 3_000, 9_000])
_LATE = st.sampled_from([0] * 8 + [300, 2_000])
_LEVEL = st.sampled_from([-72.0, -66.0, -60.0, -57.0, -54.0, -50.0])
_READ = st.tuples(
    _STEP,
    _LATE,
    st.sampled_from(EPCS[:2]) | st.sampled_from(EPCS),
    st.sampled_from([1, 2, 3, 4, 9]),
    st.none() | _LEVEL | _LEVEL,
)


def _timed(steps: list[tuple[int, int, str, int, float | None]]) -> list[RawRead]:
    reads = []
    now = T0
    for step, late, epc, antenna, rssi in steps:
        now += step
        reads.append(RawRead(now - late, epc, antenna, rssi))
    return reads


# Reads mostly in time order, some late, with gaps long enough for timeouts.
streams = st.lists(_READ, min_size=30, max_size=150).map(_timed)


def per_tag(
    changes: list[PresenceChange],
) -> dict[str, list[tuple[str, str, int, int, float | None]]]:
    out: dict[str, list[tuple[str, str, int, int, float | None]]] = defaultdict(list)
    for c in changes:
        out[c.epc].append((c.action, c.zone, c.ts_ms, c.antenna, c.rssi))
    return dict(out)


@settings(max_examples=100, deadline=None)
@given(configs(), streams)
def test_presence_is_consistent_per_tag(config: FilterConfig, reads: list[RawRead]) -> None:
    f = PresenceFilter(config)
    changes = f.feed(reads)
    present_before_drain = f.present()
    changes += f.drain()
    where: dict[str, str | None] = {}
    for change in changes:
        if change.action == "enter":
            assert where.get(change.epc) is None, f"enter while in {where[change.epc]}: {change}"
            where[change.epc] = change.zone
        else:
            assert where.get(change.epc) == change.zone, f"leave without enter: {change}"
            where[change.epc] = None
            if change.epc in present_before_drain and change.ts_ms > f.clock_ms:
                raise AssertionError("leave after the end of time")
    assert all(zone is None for zone in where.values())  # drained: every enter has its leave
    assert f.present() == {} and f.tracked == 0
    assert [c.ts_ms for c in changes] == sorted(c.ts_ms for c in changes)


@settings(max_examples=100, deadline=None)
@given(configs(), streams, st.data())
def test_batching_and_ticks_do_not_change_the_output(
    config: FilterConfig, reads: list[RawRead], data: st.DataObject
) -> None:
    whole = PresenceFilter(config)
    expected = whole.feed(reads) + whole.drain()

    f = PresenceFilter(config)
    got: list[PresenceChange] = []
    i = 0
    while i < len(reads):
        size = data.draw(st.integers(1, 10))
        batch = reads[i : i + size]
        i += size
        got += f.feed(batch)
        if i < len(reads):  # a tick no later than the next read, as a source would send
            low = min(f.clock_ms, reads[i].ts_ms)
            got += f.tick(data.draw(st.integers(low, max(low, reads[i].ts_ms))))
    got += f.drain()
    assert got == expected


@settings(max_examples=200, deadline=None)
@given(configs(), streams)
def test_agrees_with_the_reference_implementation(
    config: FilterConfig, reads: list[RawRead]
) -> None:
    fast = PresenceFilter(config)
    slow = ReferenceFilter(config)
    fast_out = fast.feed(reads)
    slow_out = [c for r in reads for c in slow.read(r)]
    assert per_tag(fast_out) == per_tag(slow_out)
    assert fast.present() == slow.present()
    end = fast.clock_ms + 60_000
    assert per_tag(fast.tick(end)) == per_tag(slow.tick(end))


@dataclass
class _RefTag:
    zone: str | None = None
    history: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    last: dict[str, tuple[int, int, float | None, float]] = field(default_factory=dict)
    # zone -> (ts, antenna, rssi, mean of the window at that read)


class ReferenceFilter:
    """The policy of edge/rfid/filter.py, written for clarity: O(history) per read."""

    def __init__(self, config: FilterConfig) -> None:
        self.config = config
        self.clock = 0
        self.tags: dict[str, _RefTag] = {}

    def present(self) -> dict[str, str]:
        return {epc: t.zone for epc, t in self.tags.items() if t.zone is not None}

    def window(self, tag: _RefTag, zone: str, now: int) -> list[float]:
        w = self.config.params(zone).window_ms
        return [level for ts, level in tag.history.get(zone, []) if now - w < ts <= now]

    def tick(self, now: int) -> list[PresenceChange]:
        out: list[PresenceChange] = []
        if now <= self.clock:
            return out
        due = []
        for epc, tag in self.tags.items():
            if tag.zone is not None:
                ts, antenna, rssi, _ = tag.last[tag.zone]
                when = ts + self.config.params(tag.zone).leave_after_ms
                if when <= now:
                    due.append((when, epc, tag, antenna, rssi))
        for when, epc, tag, antenna, rssi in sorted(due, key=lambda d: (d[0], d[1])):
            zone = tag.zone
            assert zone is not None
            out.append(PresenceChange(epc, zone, "leave", max(when, self.clock), antenna, rssi))
            tag.zone = None
            del tag.history[zone], tag.last[zone]  # a leave clears the zone's window
        self.clock = now
        return out

    def read(self, read: RawRead) -> list[PresenceChange]:
        ts, epc, antenna, rssi = read
        out: list[PresenceChange] = []
        if ts > self.clock:
            out += self.tick(ts)
        elif self.clock - ts > self.config.max_late_ms:
            return out
        ts = self.clock
        zone = self.config.antennas.get(antenna)
        if zone is None:
            return out
        params = self.config.params(zone)
        level = NO_RSSI_DBM if rssi is None else rssi
        if params.min_rssi is not None and level < params.min_rssi:
            return out
        tag = self.tags.setdefault(epc, _RefTag())
        tag.history.setdefault(zone, []).append((ts, level))
        mine = self.window(tag, zone, ts)
        strength = sum(mine) / len(mine)
        tag.last[zone] = (ts, antenna, rssi, strength)
        if tag.zone == zone or len(mine) < params.min_reads:
            return out
        margin = self.config.switch_margin_db
        if tag.zone is None:
            for other in tag.history:
                theirs = self.window(tag, other, ts)
                if other == zone or not theirs:
                    continue
                rival = sum(theirs) / len(theirs)
                outranked = rival > strength + margin or (
                    rival >= strength - margin and len(theirs) > len(mine)
                )
                if outranked:
                    return out
        else:
            held_window = self.window(tag, tag.zone, ts)
            held = sum(held_window) / len(held_window) if held_window else tag.last[tag.zone][3]
            if strength <= held + margin:
                return out
            _, old_antenna, old_rssi, _ = tag.last[tag.zone]
            out.append(PresenceChange(epc, tag.zone, "leave", ts, old_antenna, old_rssi))
        tag.zone = zone
        out.append(PresenceChange(epc, zone, "enter", ts, antenna, rssi))
        return out
