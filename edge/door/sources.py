"""Where frames come from: a camera index, a video file or a network stream (RTSP, HTTP),
all read with `cv2.VideoCapture`.

A file plays once (optionally at its own frame rate) and its frames are timed from a start
time plus their offset in the video; a camera or a stream runs until stopped, its frames are
timed by the wall clock, and a lost connection is reopened with exponential backoff.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from edge.door.errors import SourceError

log = logging.getLogger(__name__)
SourceKind = Literal["camera", "file", "stream"]
_STREAM = re.compile(r"^(rtsps?|rtmp|https?|udp|tcp|srt)://", re.IGNORECASE)
_OPEN_TIMEOUT_MS = 10_000
_READ_TIMEOUT_MS = 10_000


class Capture(Protocol):
    """The part of `cv2.VideoCapture` we use (tests pass fakes)."""

    def isOpened(self) -> bool: ...
    def read(self) -> tuple[bool, Any]: ...
    def grab(self) -> bool: ...
    def get(self, prop: int) -> float: ...
    def release(self) -> None: ...


Opener = Callable[[str | int, SourceKind], Capture]


@dataclass(frozen=True, slots=True)
class Frame:
    image: npt.NDArray[np.uint8]
    ts_ms: int  # when the frame was taken, epoch milliseconds
    index: int  # frames delivered so far from this source, from 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceSettings:
    source: str | int  # camera index, file path or stream URL
    fps: float | None = None  # override what the source reports
    max_fps: float | None = None  # live sources: skip frames to stay under this rate
    realtime: bool = False  # files: deliver frames at the file's own pace
    start_ms: int | None = None  # files: wall-clock time of the first frame; default: now
    reconnect_initial_s: float = 0.5
    reconnect_max_s: float = 30.0


@dataclass(slots=True)
class SourceStats:
    frames: int = 0
    skipped: int = 0  # live frames dropped to honour max_fps
    reconnects: int = 0


def source_kind(source: str | int) -> SourceKind:
    """ "camera" for an index (0 or "0"), "stream" for a URL, "file" otherwise."""
    if isinstance(source, int) or source.strip().isdigit():
        return "camera"
    return "stream" if _STREAM.match(source.strip()) else "file"


def open_capture(source: str | int, kind: SourceKind) -> Capture:
    """Open with OpenCV: cameras by index, streams and files through FFmpeg; streams with
    open and read timeouts so that a dead camera cannot block the reader forever."""
    if kind == "camera":
        return cv2.VideoCapture(int(source))
    if kind == "stream":
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            _OPEN_TIMEOUT_MS,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            _READ_TIMEOUT_MS,
        ]
        return cv2.VideoCapture(str(source), cv2.CAP_FFMPEG, params)
    return cv2.VideoCapture(str(source))


@dataclass(slots=True)
class VideoSource:
    """Frames from one source until it ends (files) or `stop` is set."""

    settings: SourceSettings
    opener: Opener = open_capture
    clock: Callable[[], float] = time.time  # wall clock, seconds
    monotonic: Callable[[], float] = time.monotonic
    stats: SourceStats = field(default_factory=SourceStats)
    fps: float = 0.0  # known once the source is open

    @property
    def kind(self) -> SourceKind:
        return source_kind(self.settings.source)

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        if self.kind == "file":
            yield from self._file(stop)
        else:
            yield from self._live(stop)

    def _file(self, stop: threading.Event) -> Iterator[Frame]:
        path = str(self.settings.source)
        if not Path(path).is_file():
            raise SourceError(f"video file {path!r} does not exist (setting `source`)")
        capture = self.opener(path, "file")
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open video file {path!r}: not a video OpenCV can read")
        self.fps = self._rate(capture)
        start_ms = self.settings.start_ms
        if start_ms is None:
            start_ms = int(self.clock() * 1000)
        began = self.monotonic()
        index = 0
        try:
            while not stop.is_set():
                ok, image = capture.read()
                if not ok or image is None:
                    log.info("event=source_ended source=%s frames=%d", path, index)
                    return
                offset_s = index / self.fps
                if self.settings.realtime:
                    wait = began + offset_s - self.monotonic()
                    if wait > 0 and stop.wait(wait):
                        return
                self.stats.frames += 1
                yield Frame(np.asarray(image, np.uint8), start_ms + round(offset_s * 1000), index)
                index += 1
        finally:
            capture.release()

    def _live(self, stop: threading.Event) -> Iterator[Frame]:
        source = self.settings.source
        delay = self.settings.reconnect_initial_s
        index = 0
        while not stop.is_set():
            capture = self.opener(source, self.kind)
            if not capture.isOpened():
                capture.release()
                log.warning("event=source_unavailable source=%s retry_s=%.1f", source, delay)
                if stop.wait(delay):
                    return
                delay = min(delay * 2, self.settings.reconnect_max_s)
                self.stats.reconnects += 1
                continue
            self.fps = self._rate(capture)
            log.info("event=source_open source=%s fps=%.1f", source, self.fps)
            min_gap = 1.0 / self.settings.max_fps if self.settings.max_fps else 0.0
            last = -math.inf
            try:
                while not stop.is_set():
                    if min_gap and self.monotonic() - last < min_gap:
                        # Too soon: take the frame off the queue without decoding it.
                        if not capture.grab():
                            break
                        self.stats.skipped += 1
                        continue
                    ok, image = capture.read()
                    if not ok or image is None:
                        break
                    last = self.monotonic()
                    delay = self.settings.reconnect_initial_s  # it worked: start over
                    self.stats.frames += 1
                    yield Frame(np.asarray(image, np.uint8), int(self.clock() * 1000), index)
                    index += 1
            finally:
                capture.release()
            if stop.is_set():
                return
            log.warning("event=source_lost source=%s retry_s=%.1f", source, delay)
            if stop.wait(delay):
                return
            delay = min(delay * 2, self.settings.reconnect_max_s)
            self.stats.reconnects += 1

    def _rate(self, capture: Capture) -> float:
        if self.settings.fps:
            return self.settings.fps
        reported = capture.get(cv2.CAP_PROP_FPS)
        # Some cameras and streams report 0 or nonsense; 15 is a common camera default.
        return reported if 1.0 <= reported <= 240.0 else 15.0
