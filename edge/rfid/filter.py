"""Hysteresis filter: raw RFID reads in, presence changes (a tag enters or leaves a zone) out.

Pure: plain values in and out, no clock, no I/O. Policy, per tag:

- A read counts for the zone its antenna belongs to (`antennas`); reads from other
  antennas, and reads weaker than the zone's optional `min_rssi`, are ignored (counted).
- A zone is *eligible* once it has read the tag at least `min_reads` times within its
  `window_ms` (the window ends at the current time).
- A zone's *strength* is the mean RSSI of those reads. For the zone the tag is in, when its
  window holds no reads, the mean at its last read is used instead, so that a short
  occlusion does not hand the tag to the next room's cross-reads.
- Enter: a tag in no zone enters an eligible zone unless another zone that read it within
  its own window outranks it (then it waits: a cross-read zone cannot grab a tag that a
  nearer antenna is also seeing). A zone outranks another when its strength is higher by
  more than `switch_margin_db`, or is within that margin and it has more reads in its
  window (which matters when zones need different numbers of reads).
- Switch: a tag in zone A moves to an eligible zone B when strength(B) exceeds strength(A)
  by more than `switch_margin_db`: a leave from A and an enter into B, same timestamp.
- Leave: a tag leaves its zone once that zone has not read it for `leave_after_ms`; the
  zone's window is cleared, so coming back takes `min_reads` new reads.

Time is the newest read timestamp (of any read, even one ignored), or `tick(now_ms)` when
no reads arrive. A read older
than that clock is counted at the clock when it is at most `max_late_ms` late, and dropped
(counted) otherwise, so the output never goes back in time. Changes carry the time the
filter decided: an enter at the read that made the zone eligible, a leave at the zone's
last read plus `leave_after_ms`. A change's antenna and RSSI are those of the read that
caused the enter, or of the zone's last read for a leave.

Cost per read is O(zones that recently read the tag) plus amortised O(log tags) for timeouts
(one heap entry per tag, pushed back lazily when the tag was seen again).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from edge.rfid.reads import RawRead

# Strength of a read whose reader reports no RSSI: such reads still count towards
# eligibility; with no RSSI anywhere, placement falls back to "first eligible zone wins".
NO_RSSI_DBM = -100.0

Action = Literal["enter", "leave"]


@dataclass(frozen=True, slots=True)
class ZoneParams:
    """Hysteresis of one zone: N reads within W to enter, silent for T to leave."""

    min_reads: int = 3
    window_ms: int = 2_000
    leave_after_ms: int = 10_000
    min_rssi: float | None = None  # dBm; weaker reads are ignored by this zone

    def __post_init__(self) -> None:
        if self.min_reads < 1:
            raise ValueError(f"min_reads must be at least 1, got {self.min_reads}")
        if self.window_ms < 1:
            raise ValueError(f"window_ms must be at least 1, got {self.window_ms}")
        if self.leave_after_ms < 1:
            raise ValueError(f"leave_after_ms must be at least 1, got {self.leave_after_ms}")


@dataclass(frozen=True, slots=True)
class FilterConfig:
    antennas: Mapping[int, str]  # antenna id -> zone
    default: ZoneParams = ZoneParams()
    zones: Mapping[str, ZoneParams] = field(default_factory=dict)  # per-zone overrides
    switch_margin_db: float = 6.0
    max_late_ms: int = 2_000

    def __post_init__(self) -> None:
        unknown = sorted(set(self.zones) - set(self.antennas.values()))
        if unknown:
            raise ValueError(f"zones {unknown} have parameters but no antenna")
        if self.switch_margin_db < 0:
            raise ValueError(f"switch_margin_db must be >= 0, got {self.switch_margin_db}")
        if self.max_late_ms < 0:
            raise ValueError(f"max_late_ms must be >= 0, got {self.max_late_ms}")

    def params(self, zone: str) -> ZoneParams:
        return self.zones.get(zone, self.default)


class PresenceChange(NamedTuple):
    epc: str
    zone: str
    action: Action
    ts_ms: int
    antenna: int
    rssi: float | None


@dataclass(slots=True)
class FilterStats:
    reads: int = 0
    unmapped: int = 0  # from an antenna that is in no zone
    weak: int = 0  # below the zone's min_rssi
    late: int = 0  # more than max_late_ms behind the clock: dropped
    enters: int = 0
    leaves: int = 0


class _Track:
    """One tag's recent reads in one zone."""

    __slots__ = ("antenna", "last_mean", "last_seen", "levels", "rssi", "times", "total")

    def __init__(self) -> None:
        self.times: deque[int] = deque()
        self.levels: deque[float] = deque()
        self.total = 0.0
        self.last_mean = NO_RSSI_DBM
        self.last_seen = 0
        self.antenna = 0
        self.rssi: float | None = None


class _Tag:
    __slots__ = ("deadline", "gen", "last_read", "tracks", "zone")

    def __init__(self) -> None:
        self.zone: str | None = None
        self.tracks: dict[str, _Track] = {}
        self.last_read = 0
        self.gen = 0  # generation of the tag's live heap entry
        self.deadline = 0  # its time


class PresenceFilter:
    """Per-tag presence from raw reads (policy in the module docstring). Not thread-safe:
    one caller at a time."""

    def __init__(self, config: FilterConfig) -> None:
        self.stats = FilterStats()
        self._tags: dict[str, _Tag] = {}
        self._heap: list[tuple[int, int, str]] = []  # (deadline, generation, epc)
        self._clock = 0
        self._configure(config)

    @property
    def config(self) -> FilterConfig:
        return self._config

    @property
    def clock_ms(self) -> int:
        return self._clock

    def present(self) -> dict[str, str]:
        """Where every tag is now (epc -> zone), for diagnostics and tests."""
        return {epc: tag.zone for epc, tag in self._tags.items() if tag.zone is not None}

    @property
    def tracked(self) -> int:
        """Tags the filter holds state for (present or recently read)."""
        return len(self._tags)

    def feed(self, reads: Iterable[RawRead]) -> list[PresenceChange]:
        """Process reads in time order; return the presence changes they cause."""
        out: list[PresenceChange] = []
        read = self._read
        for ts_ms, epc, antenna, rssi in reads:
            read(ts_ms, epc, antenna, rssi, out)
        return out

    def read(
        self, ts_ms: int, epc: str, antenna: int, rssi: float | None = None
    ) -> list[PresenceChange]:
        """Process one read."""
        out: list[PresenceChange] = []
        self._read(ts_ms, epc, antenna, rssi, out)
        return out

    def tick(self, now_ms: int) -> list[PresenceChange]:
        """Advance the clock without reads: emit the leaves that are due by `now_ms`."""
        out: list[PresenceChange] = []
        if now_ms > self._clock:
            self._expire(now_ms, out)
            self._clock = now_ms
        return out

    def drain(self) -> list[PresenceChange]:
        """The input has ended: let every tag time out (each leave at its own due time)."""
        longest = max(p.leave_after_ms for p in self._all_params) + self._max_window
        return self.tick(self._clock + longest)

    def reconfigure(self, config: FilterConfig) -> list[PresenceChange]:
        """Switch parameters, keeping tag state; tags in a zone that no longer exists leave
        it now."""
        self._configure(config)
        out: list[PresenceChange] = []
        zones = set(config.antennas.values())
        self._heap.clear()
        for epc, tag in list(self._tags.items()):
            for zone in [z for z in tag.tracks if z not in zones]:
                track = tag.tracks.pop(zone)
                if tag.zone == zone:
                    tag.zone = None
                    self._emit(out, epc, zone, "leave", self._clock, track.antenna, track.rssi)
            tag.gen += 1
            tag.deadline = self._due(tag)
            self._heap.append((tag.deadline, tag.gen, epc))
        heapq.heapify(self._heap)
        return out

    def _configure(self, config: FilterConfig) -> None:
        self._config = config
        # antenna -> (zone, min_reads, window_ms, leave_after_ms, min_rssi): one lookup a read
        self._routes = {
            antenna: (zone, p.min_reads, p.window_ms, p.leave_after_ms, p.min_rssi)
            for antenna, zone in config.antennas.items()
            for p in (config.params(zone),)
        }
        zones = set(config.antennas.values())
        self._windows = {zone: config.params(zone).window_ms for zone in zones}
        self._leave_after = {zone: config.params(zone).leave_after_ms for zone in zones}
        self._all_params = [config.params(zone) for zone in zones] or [config.default]
        self._max_window = max(p.window_ms for p in self._all_params)
        self._margin = config.switch_margin_db
        self._max_late = config.max_late_ms

    def _read(
        self, ts: int, epc: str, antenna: int, rssi: float | None, out: list[PresenceChange]
    ) -> None:
        self.stats.reads += 1
        if ts > self._clock:
            if self._heap and self._heap[0][0] <= ts:
                self._expire(ts, out)
            self._clock = ts
        elif ts < self._clock:
            if self._clock - ts > self._max_late:
                self.stats.late += 1
                return
            ts = self._clock
        route = self._routes.get(antenna)
        if route is None:
            self.stats.unmapped += 1
            return
        zone, min_reads, window, leave_after, min_rssi = route
        level = NO_RSSI_DBM if rssi is None else rssi
        if min_rssi is not None and level < min_rssi:
            self.stats.weak += 1
            return

        tag = self._tags.get(epc)
        if tag is None:
            tag = self._tags[epc] = _Tag()
            tag.deadline = ts + self._max_window
            heapq.heappush(self._heap, (tag.deadline, 0, epc))
        tag.last_read = ts
        track = tag.tracks.get(zone)
        if track is None:
            track = tag.tracks[zone] = _Track()
        times, levels = track.times, track.levels
        times.append(ts)
        levels.append(level)
        track.total += level
        horizon = ts - window
        while times[0] <= horizon:
            times.popleft()
            track.total -= levels.popleft()
        count = len(times)
        strength = track.last_mean = track.total / count
        track.last_seen = ts
        track.antenna = antenna
        track.rssi = rssi

        placed = tag.zone
        if placed == zone or count < min_reads:
            return  # refreshed where it is, or not (yet) eligible here
        if placed is None:
            for other, other_track in tag.tracks.items():
                if other != zone:
                    rival = self._mean(other, other_track, ts)
                    if rival is None or rival < strength - self._margin:
                        continue
                    if rival > strength + self._margin or len(other_track.times) > count:
                        return  # a zone that outranks this one is also reading it: wait
        else:
            current = tag.tracks[placed]
            held = self._mean(placed, current, ts)
            if held is None:
                held = current.last_mean
            if strength <= held + self._margin:
                return
            self._emit(out, epc, placed, "leave", ts, current.antenna, current.rssi)
        tag.zone = zone
        self._emit(out, epc, zone, "enter", ts, antenna, rssi)
        due = ts + leave_after
        if due < tag.deadline:  # the live entry is later than this tag's new timeout
            tag.gen += 1
            tag.deadline = due
            heapq.heappush(self._heap, (due, tag.gen, epc))

    def _mean(self, zone: str, track: _Track, now: int) -> float | None:
        """Mean level of the track's reads within the zone's window; None if there are none."""
        times = track.times
        horizon = now - self._windows[zone]
        while times and times[0] <= horizon:
            times.popleft()
            track.total -= track.levels.popleft()
        if not times:
            return None
        return track.total / len(times)

    def _due(self, tag: _Tag) -> int:
        """When this tag next needs attention: its leave, or forgetting it."""
        if tag.zone is not None:
            return tag.tracks[tag.zone].last_seen + self._leave_after[tag.zone]
        return tag.last_read + self._max_window

    def _expire(self, now: int, out: list[PresenceChange]) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            deadline, gen, epc = heapq.heappop(heap)
            tag = self._tags.get(epc)
            if tag is None or tag.gen != gen:
                continue  # superseded entry
            due = self._due(tag)
            if due > deadline:  # seen again since: come back later, in due-time order
                tag.gen += 1
                tag.deadline = due
                heapq.heappush(heap, (due, tag.gen, epc))
                continue
            if tag.zone is not None:
                zone = tag.zone
                track = tag.tracks.pop(zone)
                tag.zone = None
                # max(): after reconfigure() shortened a timeout, `due` may be in the past
                when = max(due, self._clock)
                self._emit(out, epc, zone, "leave", when, track.antenna, track.rssi)
                forget = tag.last_read + self._max_window
                if forget > due:  # other zones read it recently: keep their windows
                    tag.gen += 1
                    tag.deadline = forget
                    heapq.heappush(heap, (forget, tag.gen, epc))
                    continue
            del self._tags[epc]

    def _emit(
        self,
        out: list[PresenceChange],
        epc: str,
        zone: str,
        action: Action,
        ts: int,
        antenna: int,
        rssi: float | None,
    ) -> None:
        if action == "enter":
            self.stats.enters += 1
        else:
            self.stats.leaves += 1
        out.append(PresenceChange(epc, zone, action, ts, antenna, rssi))
