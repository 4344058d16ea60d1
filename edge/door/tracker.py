"""Multi-object tracking of detections from frame to frame: a constant-velocity Kalman
filter per track, optimal assignment of detections to predicted positions within a gate,
tentative tracks that must be seen a few frames running before they count, and coasting
through short misses (two people merging into one blob, a person fading against the floor).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge.door.assignment import assign
from edge.door.blobs import Detection

Matrix = npt.NDArray[np.float64]
_HEAD_COUNTS = 25  # recent head counts a track's `people` is the median of, by default
_LATELY = 5  # frames back a track's blob may have held someone who now walks apart
_MERGE_GROWTH = 1.6  # a blob this many times the track's last one has taken someone in
_REMADE = 1.5  # a blob this many times bigger or smaller than the last holds others
_MERGE_FRAMES = 3  # frames the bigger blob must last before its head counts stand alone
_TENTATIVE_COST = 0.05  # a tentative track's extra cost of taking a detection (of gate 1)
_MISS_COST = 0.15  # a coasting track's extra cost for each frame it went unseen...
_MISSES_COSTED = 4  # ...up to this many frames
_WALKING = 0.8  # pixels per frame: slower is standing, not walking any way
# A group's track whose blob, holding fewer now, lands this far ahead of where it was
# expected (of the gate) follows its front, who walked on out of the group's blob.
_LEAP = 0.5
_F = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1]], np.float64)
_H = np.array([[1, 0, 0, 0], [0, 1, 0, 0]], np.float64)


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    """Distances in pixels and times in frames, of the image the tracker sees."""

    gate: float  # how far from its prediction a track may pick up a detection
    min_hits: int = 3  # detections in a row before a track is confirmed
    max_misses: int = 12  # frames a confirmed track coasts without a detection
    head_counts: int = _HEAD_COUNTS  # recent head counts a track's `people` is the median of
    spawn_distance: float = 0.0  # no new track this close to a confirmed one
    inherit_distance: float = 0.0  # a new track this close to a group track splits off it
    position_noise: float = 2.0  # measurement noise, pixels
    share_noise: float = 2.0  # the same, of a share of a blob split between tracks
    accel_noise: float = 1.0  # process noise: change of velocity per frame, pixels


@dataclass(slots=True)
class Track:
    id: int
    state: Matrix  # x, y, vx, vy
    cov: Matrix
    hits: int = 1
    misses: int = 0
    confirmed: bool = False
    observed: bool = True  # matched a detection this frame
    last_seen: Detection | None = None  # the last detection it matched, in any frame
    trail: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=40))
    head_counts: deque[int] = field(default_factory=lambda: deque(maxlen=_HEAD_COUNTS))
    parent: int | None = None  # the group track this one split off from, if any
    since_merge: list[int] | None = None  # head counts since others joined its blob
    # How far behind where it was expected, along its way, its last blob's centre lay when
    # that blob's make-up had changed (see `_remade`), pixels; 0 if it had not.
    setback: float = 0.0
    # Its velocity when it last walked in a blob of its own, kept while it shares one with
    # others and a few frames after (see `Tracker._untangle`), and who shared with it.
    heading: Matrix | None = None
    partners: set[int] = field(default_factory=set)
    alone: int = 0  # detections of its own since it last took a share

    @property
    def position(self) -> tuple[float, float]:
        return float(self.state[0]), float(self.state[1])

    @property
    def people(self) -> int:
        """How many people this track stands for: the median head count of its recent
        blobs (a group in step is one track), at least 1."""
        if not self.head_counts:
            return 1
        return max(1, sorted(self.head_counts)[(len(self.head_counts) - 1) // 2])

    @property
    def lately_grouped(self) -> bool:
        """Whether one of its last few blobs held several people (they may part again)."""
        return any(h >= 2 for h in list(self.head_counts)[-_LATELY:])

    @property
    def alone_all_along(self) -> bool:
        """Whether every detection it took was a whole blob of one person (as far back as
        its head counts go)."""
        return self.alone >= self.hits - 1 and max(self.head_counts, default=1) == 1

    @property
    def sharing(self) -> bool:
        """Whether its last detection was a share of a blob split between tracks."""
        return self.last_seen is not None and self.last_seen.shared

    @property
    def speed(self) -> float:
        return math.hypot(float(self.state[2]), float(self.state[3]))


class Tracker:
    def __init__(self, settings: TrackerSettings) -> None:
        self.settings = settings
        self.tracks: list[Track] = []
        self._next_id = 1
        self._frame = 0
        # Where confirmed tracks lately dropped were last seen: someone merging into
        # another's blob may be one of them, already followed and counted.
        self._dropped: list[tuple[int, Detection]] = []
        q = settings.accel_noise**2
        self._q = np.diag([q / 4, q / 4, q, q])
        self._r = np.eye(2) * settings.position_noise**2
        self._r_share = np.eye(2) * settings.share_noise**2

    def predict(self) -> list[tuple[float, float]]:
        """Move every track one frame ahead; return where the confirmed ones, and those seen
        twice running, should be (a blob holding several of them is split between them)."""
        for track in self.tracks:
            track.state = _F @ track.state
            track.cov = _F @ track.cov @ _F.T + self._q
            track.observed = False
        return [t.position for t in self.tracks if t.confirmed or t.hits >= 2]

    def update(self, detections: Sequence[Detection]) -> list[Track]:
        """Match this frame's detections to the predicted tracks (call `predict` first);
        return the live tracks, tentative ones included."""
        self._frame += 1
        horizon = self._frame - self.settings.max_misses
        self._dropped = [(f, d) for f, d in self._dropped if f >= horizon]
        pairs = self._match(detections)
        matched = {d for _, d in pairs}
        # Where each track's blob was before this frame: someone stepping out of a group
        # now was inside that blob, wherever the group's blob has moved to since.
        before = {t.id: t.last_seen for t in self.tracks}
        for t, d in pairs:
            self._correct(self.tracks[t], detections[d])
        self._note_partners()
        for track in self.tracks:
            if track.observed and not track.sharing and track.partners:
                self._untangle(track)
        for track in self.tracks:
            if not track.observed:
                track.misses += 1
        alive: list[Track] = []
        for track in self.tracks:
            if self._alive(track):
                alive.append(track)
            elif track.confirmed and track.last_seen is not None:
                self._dropped.append((self._frame, track.last_seen))
        self.tracks = alive
        for index, detection in enumerate(detections):
            if index not in matched and self._may_spawn(detection):
                self._spawn(detection, before)
        return list(self.tracks)

    def step(self, detections: Sequence[Detection]) -> list[Track]:
        """`predict` then `update`."""
        self.predict()
        return self.update(detections)

    def reset(self) -> None:
        self.tracks = []
        self._dropped = []

    def adopt(self, other: Tracker) -> None:
        """Carry on the tracks of another tracker (after a change of settings)."""
        self.tracks = other.tracks
        self._next_id = other._next_id
        self._frame = other._frame
        self._dropped = other._dropped

    def _match(self, detections: Sequence[Detection]) -> list[tuple[int, int]]:
        if not self.tracks or not detections:
            return []
        predicted = np.array([t.state[:2] for t in self.tracks])
        points = np.array([(d.x, d.y) for d in detections])
        distance = np.linalg.norm(predicted[:, None, :] - points[None, :, :], axis=2)
        # Normalise by each track's own gate, so that the limit is 1 for everyone; confirmed
        # tracks win ties against tentative ones, and tracks seen last frame against those
        # coasting unseen: someone walking on is where they were seen, while a coasting
        # track's person may have walked out of view or be hidden in another's blob, and
        # must not take over the next walker's detection (the longer unseen, the nearer a
        # detection must be to be theirs).
        gates = np.array([self._gate(t) for t in self.tracks])
        cost = distance / gates[:, None]
        cost += np.array([_handicap(t) for t in self.tracks])[:, None]
        return assign(cost, 1.0)

    def _gate(self, track: Track) -> float:
        base = self.settings.gate
        # A track coasting unseen may be found a little further off, but not so far that
        # it jumps onto someone else (a newcomer across the line).
        return base + 0.5 * track.speed + 0.1 * base * min(track.misses, 4)

    def _correct(self, track: Track, detection: Detection) -> None:
        innovation = np.array([detection.x, detection.y]) - _H @ track.state
        remade = _remade(track.last_seen, detection)
        ahead = _ahead(innovation, track.state[2:])
        track.setback = max(0.0, -ahead) if remade else 0.0
        s = _H @ track.cov @ _H.T + (self._r_share if detection.shared else self._r)
        gain = track.cov @ _H.T @ np.linalg.inv(s)
        track.state = track.state + gain @ innovation
        track.cov = (np.eye(4) - gain @ _H) @ track.cov
        track.hits += 1
        track.misses = 0
        track.observed = True
        if _merged(track.last_seen, detection) and not self._holds_another(track, detection):
            track.since_merge = []
        track.last_seen = detection
        track.trail.append(track.position)
        if not detection.shared:
            if self._front_walked_on(track, detection, ahead):
                track.head_counts.clear()
                track.since_merge = None
            track.head_counts.append(detection.people)
            self._follow_merge(track, detection.people)
            track.alone += 1
            if track.alone > _LATELY:
                track.partners.clear()
            if not track.partners:  # its heading before it met them is kept a while
                track.heading = track.state[2:].copy()
        else:
            # A share of a blob split between tracks says little of who joined the track,
            # but it does say the track holds no more than that: a head count read near the
            # camera, where the perspective's guess is worst, must not outlive the blob.
            track.head_counts.append(min(detection.people, track.people))
            track.alone = 0
        if track.hits >= self.settings.min_hits and not track.confirmed:
            self._confirm(track)

    def _front_walked_on(self, track: Track, blob: Detection, ahead: float) -> bool:
        """Whether the front of `track`'s group walked on out of its blob and `track` now
        follows them: its blob, holding fewer than it stands for, lies well ahead of where
        it was expected. The rest, left behind, are no longer in its head count (they are
        a blob of their own, soon a track)."""
        return (
            track.confirmed and blob.people < track.people and ahead >= _LEAP * self.settings.gate
        )

    def _note_partners(self) -> None:
        """Tracks that took shares of a blob this frame near each other shared it."""
        sharing = [t for t in self.tracks if t.observed and t.sharing]
        near = 2.0 * self.settings.gate
        for a in sharing:
            for b in sharing:
                if a is not b and math.dist(a.position, b.position) < near:
                    a.partners.add(b.id)

    def _untangle(self, track: Track) -> None:
        """Two people who met head-on in one blob and parted again walked on past each
        other far more often than both turned back at once: k-means keeps each track on
        its side of the blob, so after passing they are followed by each other's tracks.
        If `track`, parted lately, and a partner both now head back the way they came,
        they swap who they are."""
        if (
            not track.confirmed
            or track.heading is None
            or not _reversed(track.heading, track.state[2:])
        ):
            return
        for other in self.tracks:
            if (
                other is not track
                and other.confirmed
                and other.id in track.partners
                and other.heading is not None
                and float(np.dot(track.heading, other.heading)) < 0
                and _reversed(other.heading, other.state[2:])
            ):
                _swap(track, other)
                track.partners.clear()
                other.partners.clear()
                return

    def _confirm(self, track: Track) -> None:
        track.confirmed = True
        parent = next((t for t in self.tracks if t.id == track.parent), None)
        if parent is not None and not _holds_its_head_count(parent):
            # Someone left the group (a blob that broke off for a frame is not confirmed):
            # the group is smaller from now on, not only once its median catches up.
            left = track.people
            parent.head_counts = deque(
                (max(1, h - left) for h in parent.head_counts), maxlen=parent.head_counts.maxlen
            )

    def _follow_merge(self, track: Track, people: int) -> None:
        """Someone nobody followed caught up with the track's blob: once the bigger blob
        has lasted a few frames, what it held before says nothing of what it holds now."""
        if track.since_merge is None:
            return
        if people < 2:  # it was not someone after all (a light, a shadow, a blip)
            track.since_merge = None
            return
        track.since_merge.append(people)
        if len(track.since_merge) >= _MERGE_FRAMES:
            track.head_counts = deque(track.since_merge, maxlen=track.head_counts.maxlen)
            track.since_merge = None

    def _holds_another(self, track: Track, blob: Detection) -> bool:
        """Whether `blob` covers where another confirmed track is, or was last seen
        (lately dropped ones included)."""
        others = [t.last_seen for t in self.tracks if t.confirmed and t is not track]
        others += [d for _, d in self._dropped]
        return any(d is not None and _covered(blob, d) for d in others)

    def _alive(self, track: Track) -> bool:
        if track.confirmed:
            return track.misses <= self.settings.max_misses
        return track.misses == 0

    def _may_spawn(self, detection: Detection) -> bool:
        limit = self.settings.spawn_distance
        return not any(
            t.confirmed and math.dist(t.position, (detection.x, detection.y)) < limit
            for t in self.tracks
        )

    def _group_nearby(
        self, detection: Detection, before: dict[int, Detection | None]
    ) -> Track | None:
        """A confirmed track of several people close by, or whose blob covered this spot
        now or in the frame before: someone leaving the group (the rear of a file whose
        front walked on, or one who steps aside as the rest walk on)."""
        limit = self.settings.inherit_distance
        best: tuple[float, Track] | None = None
        for t in self.tracks:
            if t.confirmed and (t.people >= 2 or t.lately_grouped):
                distance = math.dist(t.position, (detection.x, detection.y))
                covered = _covered(t.last_seen, detection) or _covered(before.get(t.id), detection)
                if distance >= limit and not covered:
                    continue
                if best is None or distance < best[0]:
                    best = (distance, t)
        return None if best is None else best[1]

    def _spawn(self, detection: Detection, before: dict[int, Detection | None]) -> None:
        state = np.array([detection.x, detection.y, 0.0, 0.0])
        speed_prior = (self.settings.gate / 2) ** 2
        cov = np.diag([self.settings.position_noise**2] * 2 + [speed_prior] * 2)
        track = Track(
            self._next_id,
            state,
            cov,
            last_seen=detection,
            head_counts=deque(maxlen=self.settings.head_counts),
        )
        track.trail.append(track.position)
        track.head_counts.append(detection.people)
        parent = self._group_nearby(detection, before)
        if parent is not None:
            track.parent = parent.id  # perhaps someone leaving the group; see `_confirm`
        self._next_id += 1
        self.tracks.append(track)


def _handicap(track: Track) -> float:
    """What a track adds to its cost of taking any detection: a little if tentative, and
    more for each frame it has coasted unseen (up to `_MISSES_COSTED`)."""
    tentative = 0.0 if track.confirmed else _TENTATIVE_COST
    return tentative + _MISS_COST * min(track.misses, _MISSES_COSTED)


def _reversed(heading: Matrix, velocity: Matrix) -> bool:
    """Whether `velocity` heads back against `heading`, both at a walk."""
    return (
        float(np.hypot(*heading)) >= _WALKING
        and float(np.hypot(*velocity)) >= _WALKING
        and float(np.dot(heading, velocity)) < 0
    )


def _swap(a: Track, b: Track) -> None:
    """Exchange who two tracks are (their ids and histories), keeping where they are."""
    a.id, b.id = b.id, a.id
    a.trail, b.trail = b.trail, a.trail
    a.head_counts, b.head_counts = b.head_counts, a.head_counts
    a.parent, b.parent = b.parent, a.parent
    a.heading, b.heading = b.heading, a.heading


def _holds_its_head_count(group: Track) -> bool:
    """Whether the group's last whole blob held all it stands for: then whoever was taken
    for someone leaving it walked up to it instead (catching up with a file from behind)."""
    seen = group.last_seen
    return seen is not None and not seen.shared and seen.people >= group.people


def _covered(blob: Detection | None, detection: Detection) -> bool:
    """Whether `detection`'s centre lies within `blob`'s bounds."""
    if blob is None:
        return False
    x, y, w, h = blob.box
    return x <= detection.x <= x + w and y <= detection.y <= y + h


def _ahead(innovation: Matrix, velocity: Matrix) -> float:
    """How far `innovation` points ahead along `velocity` (negative: back against it; 0 if
    the track stood still)."""
    speed = float(np.hypot(*velocity))
    if speed < 1e-6:
        return 0.0
    return float(innovation @ velocity) / speed


def _remade(before: Detection | None, now: Detection) -> bool:
    """Whether `now` is a blob of other make-up than the one seen `before`: its area grew
    or shrank by `_REMADE` times or more."""
    if before is None or before.area <= 0:
        return False
    ratio = now.area / before.area
    return ratio >= _REMADE or ratio <= 1.0 / _REMADE


def _merged(before: Detection | None, now: Detection) -> bool:
    """Whether `now`, a whole blob, is another blob merged into the one seen `before`."""
    return (
        before is not None
        and not now.shared
        and now.people > before.people
        and now.area >= _MERGE_GROWTH * before.area
    )
