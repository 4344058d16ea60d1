"""The door counter: frames in, true crossings out. Composes the background model, blob
detection, the tracker and the counting line; knows nothing about cameras or events.

Settings are in the pixels of the full frame; the counter works on a copy shrunk by
`downscale` (2 halves each side) and scales its geometry to match. A track may stand for
several people walking as one blob; its crossing then counts them all, and someone who
leaves such a group later takes the group's side of the line with them (so that they are
not counted twice, nor missed).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from edge.door.background import BackgroundKind, BackgroundModel, make_background
from edge.door.blobs import (
    MAX_PEOPLE_PER_BLOB,
    Anchor,
    BlobSettings,
    Detection,
    PersonSize,
    clean,
    detect,
    focal_length,
)
from edge.door.line import BAND, CountingLine, Direction, InSide, Point, step
from edge.door.tracker import Track, Tracker, TrackerSettings

Image = npt.NDArray[np.uint8]
_AWAY = 0.15  # body widths walked away from the line that show which way someone goes
_HEAD_COUNT_S = 1.0  # seconds of head counts a track's `people` is the median of...
_FEWEST_HEAD_COUNTS = 5  # ...but never fewer than this many
_BORN_DEEP = 0.5  # bands from the line a track born within the band shows its side at
# Body widths a track's centre may land behind where it was expected, in a blob of other
# make-up, and still stand for the same people (see `DoorCounter._landed_behind`).
_LANDED_BEHIND = 0.65


@dataclass(frozen=True, slots=True, kw_only=True)
class CounterSettings:
    line: tuple[Point, Point]
    in_side: InSide = "right"
    band: float = 30.0  # half-width of the hysteresis band, pixels
    person_area: float = 3000.0  # one person's blob at the line, pixels (see `radial_from`)
    person_aspect: float = 1.0  # one person's blob: spread along the walk over across it
    perspective: float = 1.0  # person area at the bottom of the image over at the top
    # Seen from straight above: beyond `radial_from` pixels from the image's centre, one
    # person's area grows by `radial_growth` of it per pixel (more of their side in view).
    radial_growth: float = 0.0
    radial_from: float = 0.0
    # The camera's field of view across the image's width, degrees (0: unknown): a wide
    # lens makes someone off its axis look bigger than the perspective alone says.
    field_of_view: float = 0.0
    min_area_ratio: float = 0.35
    split_ratio: float = 1.9
    anchor: Anchor = "centroid"
    downscale: int = 2
    background: BackgroundKind = "average"
    coast_s: float = 0.8  # how long a track survives without a detection
    zone: float | None = None  # only blobs this close to the line count; default 3 bands


@dataclass(frozen=True, slots=True)
class Crossing:
    direction: Direction
    count: int  # people: a group walking as one blob crosses at once
    track: int
    frame: int
    x: float  # where the track was when the crossing completed (full-frame pixels)
    y: float


@dataclass(frozen=True, slots=True)
class _Pending:
    """A crossing awaiting its track's confirmation: its direction and the most people it
    may count."""

    direction: Direction
    most: int = MAX_PEOPLE_PER_BLOB


@dataclass(slots=True)
class _TrackState:
    """What the counter remembers of one live track."""

    side: int = 0  # its last definite side of the line (0: none yet)
    pending: list[_Pending] = field(default_factory=list)  # crossings awaiting confirmation
    crossed: Direction | None = None  # its last crossing
    # How many people its last crossing counted, less the rears of its file who parted
    # from it behind the line since (counted with it): one always stays for the track.
    counted: int = 0
    # Someone who left a group behind its crossing: the group counted them already, so
    # their own crossing that way is not counted again.
    credit: Direction | None = None
    # Credited as the rear of a group's file: watched once it is confirmed until it walks
    # to the line (it is the rear) or away from it (it came across the line inside the
    # group's blob, the other way).
    rear: bool = False
    last_seen: Point | None = None  # where it was last observed
    # Its centre landed behind, on other people (see `_landed_behind`): its side is where
    # it is once it is out of the band, not one taken from its first sighting.
    landed: bool = False
    # It split off a group already across the line from the group's side, so took the
    # group's side and a crossing with it: held until it walks on (it crossed inside the
    # group's blob) or back towards the line (it came the other way and met the group
    # there: no crossing yet). The frame it was born in.
    across_from: int | None = None
    track: Track | None = None  # as last observed (kept once the tracker drops it)


@dataclass(frozen=True, slots=True)
class _Lost:
    frame: int
    position: Point
    side: int


@dataclass(frozen=True, slots=True)
class FrameResult:
    """What the counter saw in one frame (for annotation). Crossings and detections are in
    full-frame pixels; tracks and the cleaned foreground mask are at the working size, which
    is the full frame divided by `downscale`."""

    crossings: list[Crossing]
    detections: list[Detection]
    tracks: list[Track]
    mask: npt.NDArray[np.uint8]
    downscale: int


class DoorCounter:
    def __init__(self, settings: CounterSettings, fps: float) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.fps = fps
        self.frame_index = -1
        self.ins = 0
        self.outs = 0
        self._states: dict[int, _TrackState] = {}  # by track id, live tracks only
        self._lost: list[_Lost] = []  # tracks gone lately, with their side
        self._background: BackgroundModel | None = None
        self._shape: tuple[int, int] | None = None
        self.frame_size: tuple[int, int] | None = None  # width, height of the last frame
        self._tracker: Tracker | None = None
        self.settings = settings
        self._configure(settings)

    def reconfigure(self, settings: CounterSettings) -> None:
        """Apply new settings between frames; a new working size or background model
        starts learning the scene again, anything else keeps the tracks."""
        relearn = (
            settings.downscale != self.settings.downscale
            or settings.background != self.settings.background
        )
        self.settings = settings
        self._configure(settings)
        if relearn:
            self._background = None
            self._shape = None
            self._tracker = None
            self._configure(settings)
            self._states.clear()
            self._lost.clear()

    def _configure(self, s: CounterSettings) -> None:
        scale = 1.0 / s.downscale
        self._scale = scale
        self.line = CountingLine(s.line[0], s.line[1], s.in_side, s.band)
        self._line = self.line.scaled(scale)
        (x1, y1), (x2, y2) = self._line.p1, self._line.p2
        length = self._line.length
        self._across = ((x2 - x1) / length, (y2 - y1) / length)
        self._row = self._line.middle[1]
        self._zone = (s.zone if s.zone is not None else 3 * s.band) * scale
        width = PersonSize(s.person_area * scale * scale, 0, 1, 1.0, s.person_aspect).width
        settings = TrackerSettings(
            gate=0.9 * width,
            max_misses=max(1, round(s.coast_s * self.fps)),
            # A second of head counts at any frame rate: a group coming into view one by
            # one is counted as it is when it crosses, not as it was up to 2.5 s before
            # (25 frames at 10 frames/s).
            head_counts=max(_FEWEST_HEAD_COUNTS, round(_HEAD_COUNT_S * self.fps)),
            spawn_distance=0.45 * width,
            inherit_distance=1.5 * width,
            # A share of a split blob is where k-means put it, not where someone is:
            # two walking into each other in one lane must carry on through it.
            share_noise=0.3 * width,
        )
        self._width = width
        self._surroundings_mask: npt.NDArray[np.uint8] | None = None  # see `_surroundings`
        self._recall_distance = 1.5 * width
        self._recall_frames = settings.max_misses
        previous = self._tracker
        self._tracker = Tracker(settings)
        if previous is not None:
            self._tracker.adopt(previous)

    def _surroundings(self, shape: tuple[int, int]) -> npt.NDArray[np.uint8]:
        """Where blobs are looked for: the counting zone and a body's length around it.
        A queue outside that merges with someone on the threshold would otherwise carry
        the blob's centre out of the zone, and them with it."""
        if self._surroundings_mask is None or self._surroundings_mask.shape != shape:
            reach = self._zone + self._width * max(1.0, self.settings.person_aspect)
            corners = np.round(np.array(self._line.surroundings(reach))).astype(np.int32)
            self._surroundings_mask = np.zeros(shape, np.uint8)
            cv2.fillPoly(self._surroundings_mask, [corners], 255)
        return self._surroundings_mask

    def _in_zone(self, x: float, y: float) -> bool:
        line = self._line
        margin = self._zone / line.length
        return abs(line.signed_distance((x, y))) <= self._zone and (
            -margin <= line.along((x, y)) <= 1.0 + margin
        )

    def _prepare(self, frame: Image) -> Image:
        h, w = frame.shape[:2]
        self.frame_size = (w, h)
        d = self.settings.downscale
        small = (
            frame if d == 1 else cv2.resize(frame, (w // d, h // d), interpolation=cv2.INTER_AREA)
        )
        if self._background is None or self._shape != small.shape[:2]:
            self._shape = small.shape[:2]
            self._background = make_background(self.settings.background, self.fps)
        return np.asarray(small, np.uint8)

    def process(self, frame: Image) -> FrameResult:
        """Count one BGR frame; return the crossings completed in it (and what was seen)."""
        self.frame_index += 1
        small = self._prepare(frame)
        assert self._background is not None and self._shape is not None
        assert self._tracker is not None
        s = self.settings
        scale = self._scale
        height, width = self._shape
        size = PersonSize(
            s.person_area * scale * scale,
            self._row,
            height,
            s.perspective,
            s.person_aspect,
            radial=s.radial_growth / scale,
            radial_from=s.radial_from * scale,
            centre=(width / 2, height / 2),
            focal=focal_length(s.field_of_view, width),
            reference=self._line.middle,
        )
        blob_settings = BlobSettings(
            size,
            across=self._across,
            min_area_ratio=s.min_area_ratio,
            split_ratio=s.split_ratio,
            anchor=s.anchor,
        )
        foreground = self._background.apply(small, self._freeze(small.shape[:2]))
        surroundings = self._surroundings(small.shape[:2])
        mask = np.asarray(cv2.bitwise_and(clean(foreground, size), surroundings), np.uint8)
        seeds = self._tracker.predict()
        detections = detect(mask, blob_settings, seeds, self._in_zone)
        tracks = self._tracker.update(detections)
        crossings = self._count(tracks)
        full = [_scaled(d, 1.0 / scale) for d in detections]
        return FrameResult(crossings, full, tracks, mask, s.downscale)

    def _side_nearby(self, track: Track, tracks: Sequence[Track]) -> int:
        """The side of the nearest track lost lately, or coasting unseen, close to where
        `track` is (0 if none): only for a track born within the band, which has no side
        of its own to start from. One born at the frame's border walked into view there,
        from the side of the line it is on."""
        if self._line.zone(track.position) != BAND:
            return 0
        if track.last_seen is not None and self._at_edge(track.last_seen.box):
            return self._line.half(track.position)
        candidates = [(lost.position, lost.side) for lost in self._lost]
        candidates += [
            (other.position, state.side)
            for other, state in self._coasting_near(track, tracks)
            if state.side
        ]
        best, side = self._recall_distance, 0
        for position, candidate_side in candidates:
            distance = math.dist(position, track.position)
            if distance < best:
                best, side = distance, candidate_side
        return side

    def _coasting_near(
        self, track: Track, tracks: Sequence[Track]
    ) -> Iterator[tuple[Track, _TrackState]]:
        """The other tracks coasting unseen close to `track`, with what the counter knows
        of them."""
        for other in tracks:
            state = self._states.get(other.id)
            if (
                other.id != track.id
                and not other.observed
                and state is not None
                and math.dist(other.position, track.position) < self._recall_distance
            ):
                yield other, state

    def _hiding_near(self, track: Track, tracks: Sequence[Track], side: int) -> _TrackState | None:
        """A confirmed track from `side`, not yet across the line (one that crossed already
        walks away from it), coasting unseen close to `track`: someone hidden there."""
        for other, state in self._coasting_near(track, tracks):
            if other.confirmed and state.side == side and state.crossed is None:
                return state
        return None

    def _side_of_newcomer(self, track: Track, tracks: Sequence[Track]) -> int:
        """The side a new track starts from, if it has a history: someone split off a
        group has been where the group has been, unless they are still short of the line
        the group crossed (the rear of a file): then they are where they are, and the
        group's crossing already counted them, if it counted more people than those who
        still walk in its blob (one at least) and those who parted from it so. Someone out
        of the blob of one person, where a track from across the line hides, is that one
        (the two met head-on). A new track where one was just lost (two blobs merging and
        parting again moves a blob's centre past the tracker's gate) carries on that one."""
        parent = self._states.get(track.parent or 0)
        if parent is None or not parent.side:
            return self._side_nearby(track, tracks)
        # Nobody splits off one person: someone hid in their blob. One coming the other way,
        # whose track coasts close by, met them head-on.
        alone = parent.track is not None and parent.track.people == 1
        hidden = self._hiding_near(track, tracks, -parent.side) if alone else None
        if hidden is not None:
            # Their old track gives them up: should it find a blob again, it is not theirs,
            # and counts nothing until it has a side of its own.
            hidden.side, hidden.landed = 0, True
            return -parent.side
        zone = self._line.zone(track.position)
        if parent.crossed is not None and zone == -parent.side:
            if not parent.pending and parent.counted < 2:
                # Its crossing counted only who walks on in its blob (its head count
                # lagged behind someone catching up): the rear is not counted yet.
                return zone
            parent.counted -= 1
            state = self._states[track.id]
            state.credit = parent.crossed
            state.rear = True
            return zone
        if zone == -parent.side:
            self._states[track.id].across_from = self.frame_index
        return parent.side

    def _credit_stragglers(
        self, group: Track, tracks: Sequence[Track], side: int, direction: Direction
    ) -> None:
        """Someone just parting from `group` behind the line it crosses now is still in its
        head count (they leave its count once their own track is confirmed): their own
        crossing that way is not counted again."""
        for track in tracks:
            state = self._states.get(track.id)
            if (
                state is not None
                and track.parent == group.id
                and not track.confirmed
                and state.side == -side
            ):
                state.credit = direction

    @staticmethod
    def _crossing_back(track: Track, state: _TrackState) -> int:
        """The most people a crossing of `track` may count: its whole head count, unless it
        crosses back the way it came. A blob that does so has changed its make-up (people
        going the other way merged into it, or its centre moved onto them): only those in
        its blob now are crossing (`track` was just observed, so it has a sighting)."""
        if state.crossed is None:
            return MAX_PEOPLE_PER_BLOB
        assert track.last_seen is not None
        return track.last_seen.people

    def _side_walked_from(self, track: Track, zone: int | None) -> int:
        """The side a track born within the band, with nobody lost nearby to take one from,
        came from as it leaves the band into `zone`: the other side, if it was first seen
        (as far back as its trail goes) well on that half of the line, for it walked across
        the line itself; else none (too near the line to tell)."""
        if zone is None or zone == BAND or not track.trail:
            return 0
        first = self._line.signed_distance(track.trail[0])
        return -zone if first * zone <= -_BORN_DEEP * self._line.band else 0

    def _landed_behind(self, track: Track) -> bool:
        """Whether a confirmed track's centre just landed well behind where it was expected,
        along its way, in a blob of other make-up: someone caught up with it from behind,
        or the front of its group walked on out of the zone and left the rear. It stands
        for those behind now, who have not crossed the line by its jump: their side is
        where they are. (Landing ahead is the front walking on: that counts as usual.)
        Someone alone landing back in a blob of one is still themselves: a blob taken for
        theirs for a frame (their shadow, a fragment) had thrown their track off."""
        seen = track.last_seen
        with_others = track.people >= 2 or (seen is not None and seen.people >= 2)
        return track.confirmed and with_others and track.setback > _LANDED_BEHIND * self._width

    def _walks_away(self, track: Track, side: int) -> bool:
        """Whether `track` has walked away from the line, deeper into `side`, since it
        was first seen."""
        if len(track.trail) < 2:
            return False
        first, last = track.trail[0], track.trail[-1]
        moved = self._line.signed_distance(last) - self._line.signed_distance(first)
        return moved * side >= _AWAY * self._width

    def _freeze(self, shape: tuple[int, int]) -> npt.NDArray[np.uint8]:
        """Where people are (confirmed tracks' last boxes, grown a little): not background.
        Also where a coasting track was last seen: someone standing still fades from the
        foreground, and must not be learnt as floor meanwhile."""
        freeze = np.zeros(shape, np.uint8)
        assert self._tracker is not None
        for track in self._tracker.tracks:
            if track.confirmed and track.last_seen is not None:
                x, y, w, h = track.last_seen.box
                pad = max(2, round(0.15 * max(w, h)))
                freeze[max(0, y - pad) : y + h + pad, max(0, x - pad) : x + w + pad] = 255
        return freeze

    def _side(self, track_id: int) -> int:
        state = self._states.get(track_id)
        return 0 if state is None else state.side

    def _count(self, tracks: Sequence[Track]) -> list[Crossing]:
        crossings: list[Crossing] = []
        for track in tracks:
            state = self._states.get(track.id)
            if state is None:
                state = self._states[track.id] = _TrackState()
                state.side = self._side_of_newcomer(track, tracks)
            if not track.observed and self._took_over_a_sighting(track, state):
                self._step_to_sighting(track, state)
            if track.observed and state.rear and track.confirmed:
                # One person only: a blob of several moves its centre about as its
                # make-up changes, walking or not.
                if track.people > 1 or self._walks_away(track, -state.side):
                    state.rear = False
                elif self._walks_away(track, state.side):
                    # Not the rear of the file but someone who crossed the other way
                    # inside the group's blob: they come from the group's side.
                    state.side, state.credit, state.rear = -state.side, None, False
            if track.observed:
                if self._landed_behind(track):
                    state.side, state.landed = 0, True
                zone = self._line.zone(track.position)
                if not state.side and not state.landed:
                    state.side = self._side_walked_from(track, zone)
                state.side, direction = step(state.side, zone)
                state.landed = state.landed and not state.side  # until it has a side again
                if direction is not None and state.credit == direction:
                    state.credit = None
                    state.crossed, state.counted = direction, 0
                elif direction is not None:
                    state.pending.append(_Pending(direction, self._crossing_back(track, state)))
                    state.crossed = direction
                    self._credit_stragglers(track, tracks, state.side, direction)
            if track.observed and state.across_from is not None:
                self._settle_across(track, state)
            if track.confirmed and state.pending and state.across_from is None:
                crossings += self._release(track, state)
        live = {track.id for track in tracks}
        for gone in sorted(set(self._states) - live):
            state = self._states.pop(gone)
            if state.pending and state.track is not None and state.track.confirmed:
                crossings += self._release(state.track, state)  # held until it was lost
            if state.side and state.last_seen is not None:
                left = self._left_view_across(state)
                if left is not None:
                    crossings.append(left)
                    state.side = -state.side
                self._lost.append(_Lost(self.frame_index, state.last_seen, state.side))
        for track in tracks:
            if track.observed:
                state = self._states[track.id]
                state.last_seen, state.track = track.position, track
        horizon = self.frame_index - self._recall_frames
        self._lost = [lost for lost in self._lost if lost.frame >= horizon]
        self.ins += sum(c.count for c in crossings if c.direction == "in")
        self.outs += sum(c.count for c in crossings if c.direction == "out")
        return crossings

    @staticmethod
    def _took_over_a_sighting(track: Track, state: _TrackState) -> bool:
        """Whether a track coasting unseen is not the one last observed under its id: two
        tracks that met head-on swapped who they are (`Tracker._untangle`), and this one's
        person walked out of view meanwhile."""
        return state.track is not None and state.track is not track and track.last_seen is not None

    def _step_to_sighting(self, track: Track, state: _TrackState) -> None:
        """Take a track's side on to where its person was last seen (under another id)."""
        seen = track.last_seen
        assert seen is not None
        state.side, direction = step(state.side, self._line.zone((seen.x, seen.y)))
        if direction is not None:
            state.pending.append(_Pending(direction, seen.people))
            state.crossed = direction
        state.track, state.last_seen = track, (seen.x, seen.y)

    def _release(self, track: Track, state: _TrackState) -> list[Crossing]:
        """The crossings `track` was awaiting, counted now."""
        x, y = track.position
        crossings = []
        for pending in state.pending:
            state.counted = min(track.people, pending.most)
            crossings.append(
                Crossing(
                    pending.direction,
                    state.counted,
                    track.id,
                    self.frame_index,
                    x / self._scale,
                    y / self._scale,
                )
            )
        state.pending = []
        return crossings

    def _settle_across(self, track: Track, state: _TrackState) -> None:
        """Whether someone who split off a group across the line from it crossed with it
        (they walk on, or stay a second) or met it coming the other way (they walk back
        towards the line, which they have yet to cross)."""
        assert state.across_from is not None
        # Only a blob of their own all along shows where they walk: one merging with or
        # parting from others moves its centre as its make-up changes.
        if track.alone_all_along and self._walks_away(track, -state.side):
            state.pending, state.crossed, state.across_from = [], None, None
        elif (
            self._walks_away(track, state.side) or self.frame_index - state.across_from >= self.fps
        ):
            state.across_from = None

    def _left_view_across(self, state: _TrackState) -> Crossing | None:
        """The crossing of a track gone out of view past the line, within the band.

        Near a camera's frame edge someone can walk out of view before they are a band
        past the line (a camera looking across a doorway, the line near the image's foot):
        only part of them is in view, then too little to be a person. They were seen past
        the line, at the border, and cannot have come back unseen."""
        track, point = state.track, state.last_seen
        assert point is not None
        if track is None or track.last_seen is None or not track.confirmed:
            return None
        if not self._at_edge(track.last_seen.box) or self._line.zone(point) != BAND:
            return None
        _, direction = step(state.side, self._line.half(point))
        if direction is None or state.credit == direction:  # credit: a group counted them
            return None
        x, y = point
        return Crossing(
            direction, track.people, track.id, self.frame_index, x / self._scale, y / self._scale
        )

    def _at_edge(self, box: tuple[int, int, int, int]) -> bool:
        assert self._shape is not None
        height, width = self._shape
        x, y, w, h = box
        return x <= 1 or y <= 1 or x + w >= width - 1 or y + h >= height - 1


def _scaled(detection: Detection, factor: float) -> Detection:
    x, y, w, h = detection.box
    return Detection(
        detection.x * factor,
        detection.y * factor,
        detection.area * factor * factor,
        (round(x * factor), round(y * factor), round(w * factor), round(h * factor)),
        detection.people,
        detection.shared,
        (detection.spread[0] * factor, detection.spread[1] * factor),
    )
