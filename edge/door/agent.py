"""The door agent: video source → counter → `door.crossing` events through the runtime's
sink, with live config (the counting line, the band, the source…) applied between frames.

Events are timed by their frame: a file's frames by the start time plus their offset in
the video, a camera's or a stream's by the wall clock when they were read. Crossings of
the same direction in one frame become one event with a `count`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from edge.door.annotate import AnnotatedVideo, draw, write_still
from edge.door.config import SOURCE_KEYS, DoorConfig, changed_keys, parse_config
from edge.door.counter import Crossing, DoorCounter, FrameResult
from edge.door.sources import Frame, Opener, VideoSource, open_capture
from edge.runtime.base import EventSink, new_event_id
from storesense.protocol.events import AnyEvent, DoorCrossing

log = logging.getLogger(__name__)
_MAX_COUNT = 1000  # the protocol's limit for one event's `count`


class DoorAgent:
    """Counts people through a door from a camera, a video file or a stream."""

    kind = "door"

    def __init__(
        self,
        config: DoorConfig,
        *,
        opener: Opener = open_capture,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._pending: DoorConfig | None = None
        self._lock = threading.Lock()
        self._opener = opener
        self._clock = clock
        self.ins = 0
        self.outs = 0
        self.frames = 0

    @classmethod
    def from_config(cls, section: Mapping[str, Any], **kwargs: Any) -> DoorAgent:
        """An agent for the `door` section of the device config (ValueError names a bad key)."""
        return cls(parse_config(section), **kwargs)

    @property
    def config(self) -> DoorConfig:
        with self._lock:
            return self._pending or self._config

    def apply_config(self, config: Mapping[str, Any]) -> None:
        """Take a new config section; it applies from the next frame. A bad key raises
        ValueError and the current config stays."""
        parsed = parse_config(config)
        with self._lock:
            self._pending = parsed
        log.info("event=config_received keys=%s", ",".join(sorted(config)))

    def run(self, sink: EventSink, stop: threading.Event) -> None:
        """Read frames and emit crossings until `stop` is set or a file source ends."""
        while not stop.is_set():
            self._take_pending()  # a change that came in before (re)opening the source
            if not self._run_source(sink, stop):
                return

    def _take_pending(self) -> set[str]:
        with self._lock:
            pending, self._pending = self._pending, None
            if pending is None:
                return set()
            changed = changed_keys(self._config, pending)
            self._config = pending
        return changed

    def _run_source(self, sink: EventSink, stop: threading.Event) -> bool:
        """Run one source; True when it must be reopened (its settings changed)."""
        config = self._config
        source = VideoSource(config.source_settings(), opener=self._opener, clock=self._clock)
        counter: DoorCounter | None = None
        outputs = _Outputs(config)
        try:
            for frame in source.frames(stop):
                changed = self._take_pending()
                if changed & set(SOURCE_KEYS):
                    log.info("event=source_reopen changed=%s", ",".join(sorted(changed)))
                    return True
                if changed:
                    config = self._config
                    if counter is not None:
                        counter.reconfigure(config.counter_settings())
                    outputs.close()
                    outputs = _Outputs(config)
                if counter is None:
                    counter = DoorCounter(config.counter_settings(), source.fps)
                result = counter.process(frame.image)
                self.frames += 1
                if result.crossings:
                    events = crossing_events(result.crossings, frame.ts_ms, config.door)
                    sink.emit(events)
                    self._tally(result.crossings)
                outputs.write(frame, counter, result, self.ins, self.outs)
        finally:
            outputs.close()
        return False

    def _tally(self, crossings: list[Crossing]) -> None:
        for crossing in crossings:
            if crossing.direction == "in":
                self.ins += crossing.count
            else:
                self.outs += crossing.count
            log.info(
                "event=crossing direction=%s count=%d track=%d",
                crossing.direction,
                crossing.count,
                crossing.track,
            )


def crossing_events(crossings: list[Crossing], ts_ms: int, door: str | None) -> list[AnyEvent]:
    """One `door.crossing` event per direction for the crossings of one frame."""
    events: list[AnyEvent] = []
    for direction in ("in", "out"):
        count = sum(c.count for c in crossings if c.direction == direction)
        while count > 0:
            part = min(count, _MAX_COUNT)
            events.append(
                DoorCrossing(
                    id=new_event_id(ts_ms), ts=ts_ms, direction=direction, count=part, door=door
                )
            )
            count -= part
    return events


class _Outputs:
    """The optional annotated video and still image for installers."""

    def __init__(self, config: DoorConfig) -> None:
        self._video = AnnotatedVideo(Path(config.annotate_path)) if config.annotate_path else None
        self._still = Path(config.snapshot_path) if config.snapshot_path else None
        self._every_ms = int(config.snapshot_every_s * 1000)
        self._last_still_ms: int | None = None

    def write(
        self, frame: Frame, counter: DoorCounter, result: FrameResult, ins: int, outs: int
    ) -> None:
        still_due = self._still is not None and (
            self._last_still_ms is None or frame.ts_ms - self._last_still_ms >= self._every_ms
        )
        if self._video is None and not still_due:
            return
        image = draw(frame.image, counter.line, result, ins, outs)
        if self._video is not None:
            self._video.write(image, counter.fps)
        if still_due and self._still is not None:
            write_still(self._still, image)
            self._last_still_ms = frame.ts_ms

    def close(self) -> None:
        if self._video is not None:
            self._video.close()
