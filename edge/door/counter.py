"""The door counter: frames in, true crossings out. Composes the background model, blob
detection, the tracker and the counting line; knows nothing about cameras or events.

Settings are in the pixels of the full frame; the counter works on a copy shrunk by
`downscale` (2 halves each side) and scales its geometry to match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.door.background import BackgroundKind, BackgroundModel, make_background
from edge.door.blobs import Anchor, BlobSettings, Detection, PersonSize, clean, detect
from edge.door.line import CountingLine, Direction, InSide, Point, step
from edge.door.tracker import Track, Tracker, TrackerSettings

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True, kw_only=True)
class CounterSettings:
    line: tuple[Point, Point]
    in_side: InSide = "right"
    band: float = 30.0  # half-width of the hysteresis band, pixels
    person_area: float = 3000.0  # one person's blob at the line, pixels
    min_area_ratio: float = 0.35
    split_ratio: float = 1.55
    perspective: float = 1.0  # person area at the bottom of the image over at the top
    anchor: Anchor = "centroid"
    downscale: int = 2
    background: BackgroundKind = "average"
    coast_s: float = 0.8  # how long a track survives without a detection
    zone: float | None = None  # only blobs this close to the line count; default 3 bands


@dataclass(frozen=True, slots=True)
class Crossing:
    direction: Direction
    track: int
    frame: int
    x: float  # where the track was when the crossing completed (full-frame pixels)
    y: float


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
        self._sides: dict[int, int] = {}
        self._pending: dict[int, list[Direction]] = {}
        self._background: BackgroundModel | None = None
        self._shape: tuple[int, int] | None = None
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
            self._tracker.reset()
            self._sides.clear()
            self._pending.clear()

    def _configure(self, s: CounterSettings) -> None:
        scale = 1.0 / s.downscale
        self._scale = scale
        self.line = CountingLine(s.line[0], s.line[1], s.in_side, s.band)
        self._line = self.line.scaled(scale)
        self._size_args = (s.person_area * scale * scale, (s.line[0][1] + s.line[1][1]) / 2 * scale)
        width = (s.person_area * scale * scale * 1.6) ** 0.5
        self._zone = (s.zone if s.zone is not None else 3 * s.band) * scale
        previous = getattr(self, "_tracker", None)
        self._tracker = Tracker(
            TrackerSettings(
                gate=0.9 * width,
                max_misses=max(1, round(s.coast_s * self.fps)),
                spawn_distance=0.45 * width,
            )
        )
        if previous is not None:
            self._tracker.tracks = previous.tracks
            self._tracker._next_id = previous._next_id

    def _in_zone(self, x: float, y: float) -> bool:
        line = self._line
        margin = self._zone / line.length
        return abs(line.signed_distance((x, y))) <= self._zone and (
            -margin <= line.along((x, y)) <= 1.0 + margin
        )

    def _prepare(self, frame: Image) -> Image:
        h, w = frame.shape[:2]
        d = self.settings.downscale
        small = frame if d == 1 else cv2.resize(frame, (w // d, h // d), interpolation=cv2.INTER_AREA)
        if self._background is None or self._shape != small.shape[:2]:
            self._shape = small.shape[:2]
            self._background = make_background(self.settings.background, self.fps)
        return np.asarray(small, np.uint8)

    def process(self, frame: Image) -> FrameResult:
        """Count one BGR frame; return the crossings completed in it (and what was seen)."""
        self.frame_index += 1
        small = self._prepare(frame)
        assert self._background is not None and self._shape is not None
        area, row = self._size_args
        size = PersonSize(area, row, self._shape[0], self.settings.perspective)
        blob_settings = BlobSettings(
            size,
            min_area_ratio=self.settings.min_area_ratio,
            split_ratio=self.settings.split_ratio,
            anchor=self.settings.anchor,
        )
        foreground = self._background.apply(small, self._freeze(small.shape[:2]))
        mask = clean(foreground, size)
        seeds = self._tracker.predict()
        detections = detect(mask, blob_settings, seeds, self._in_zone)
        tracks = self._tracker.update(detections)
        crossings = self._count(tracks)
        unscale = 1.0 / self._scale
        detections = [_scaled(d, unscale) for d in detections]
        return FrameResult(crossings, detections, tracks, mask, self.settings.downscale)

    def _freeze(self, shape: tuple[int, int]) -> npt.NDArray[np.uint8]:
        """Where people are (confirmed tracks' last boxes, grown a little): not background."""
        freeze = np.zeros(shape, np.uint8)
        for track in self._tracker.tracks:
            if track.confirmed and track.detection is not None:
                x, y, w, h = track.detection.box
                pad = max(2, round(0.15 * max(w, h)))
                freeze[max(0, y - pad) : y + h + pad, max(0, x - pad) : x + w + pad] = 255
        return freeze

    def _count(self, tracks: Sequence[Track]) -> list[Crossing]:
        crossings: list[Crossing] = []
        live = set()
        for track in tracks:
            live.add(track.id)
            if track.observed:
                side, direction = step(self._sides.get(track.id, 0), self._line.zone(track.position))
                self._sides[track.id] = side
                if direction is not None:
                    self._pending.setdefault(track.id, []).append(direction)
            if track.confirmed and track.id in self._pending:
                x, y = track.position
                for direction in self._pending.pop(track.id):
                    crossings.append(
                        Crossing(direction, track.id, self.frame_index, x / self._scale, y / self._scale)
                    )
        for gone in set(self._sides) - live:
            del self._sides[gone]
            self._pending.pop(gone, None)
        self.ins += sum(1 for c in crossings if c.direction == "in")
        self.outs += sum(1 for c in crossings if c.direction == "out")
        return crossings


def _scaled(detection: Detection, factor: float) -> Detection:
    x, y, w, h = detection.box
    return Detection(
        detection.x * factor,
        detection.y * factor,
        detection.area * factor * factor,
        (round(x * factor), round(y * factor), round(w * factor), round(h * factor)),
        detection.shared,
    )
