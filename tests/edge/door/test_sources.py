from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.door.errors import SourceError
from edge.door.sources import SourceKind, SourceSettings, VideoSource, source_kind

START_MS = 1_764_151_200_000  # 2025-11-26T10:00:00Z


def _write_video(path: Path, frames: int = 12, fps: float = 10.0) -> None:
    """A real MJPG .avi through cv2.VideoWriter: frame i is a flat grey of level 10 * i."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (160, 120))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((120, 160, 3), 10 * i, np.uint8))
    writer.release()


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        (0, "camera"),
        ("1", "camera"),
        ("rtsp://10.0.0.5:554/stream1", "stream"),
        ("RTSPS://cam.local/live", "stream"),
        ("http://cam.local/video.mjpg", "stream"),
        ("/data/door.mp4", "file"),
        ("door.avi", "file"),
    ],
)
def test_source_kind(source: str | int, kind: SourceKind) -> None:
    assert source_kind(source) == kind


def test_a_video_file_plays_once_with_frames_timed_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "door.avi"
    _write_video(path)
    source = VideoSource(SourceSettings(source=str(path), start_ms=START_MS))
    frames = list(source.frames(threading.Event()))
    assert source.fps == pytest.approx(10.0)
    assert [f.index for f in frames] == list(range(12))
    assert [f.ts_ms for f in frames] == [START_MS + 100 * i for i in range(12)]
    assert frames[0].image.shape == (120, 160, 3)
    assert [round(float(f.image.mean()) / 10) for f in frames] == list(range(12))


def test_a_file_can_be_paced_at_its_own_frame_rate(tmp_path: Path) -> None:
    path = tmp_path / "door.avi"
    _write_video(path, frames=6, fps=50.0)
    source = VideoSource(SourceSettings(source=str(path), realtime=True))
    began = time.monotonic()
    assert len(list(source.frames(threading.Event()))) == 6
    assert time.monotonic() - began >= 5 / 50 - 0.01


def test_a_missing_file_names_the_setting(tmp_path: Path) -> None:
    source = VideoSource(SourceSettings(source=str(tmp_path / "nope.mp4")))
    with pytest.raises(SourceError, match="`source`"):
        list(source.frames(threading.Event()))


def test_a_file_that_is_not_a_video_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("not a video")
    with pytest.raises(SourceError, match="cannot open"):
        list(VideoSource(SourceSettings(source=str(path))).frames(threading.Event()))


class FakeCapture:
    """A camera that opens (or not) and then gives `frames` frames before failing."""

    def __init__(self, opens: bool, frames: int, fps: float = 25.0) -> None:
        self.opens, self.left, self.fps = opens, frames, fps
        self.grabs = 0
        self.released = False

    def isOpened(self) -> bool:
        return self.opens

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.zeros((4, 4, 3), np.uint8)

    def grab(self) -> bool:
        self.grabs += 1
        return self.left > 0

    def get(self, prop: int) -> float:
        return self.fps if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self) -> None:
        self.released = True


def test_a_lost_stream_is_reopened_with_backoff() -> None:
    captures = [FakeCapture(False, 0), FakeCapture(True, 3), FakeCapture(True, 10)]
    opened: list[tuple[str | int, str]] = []

    def opener(source: str | int, kind: SourceKind) -> FakeCapture:
        opened.append((source, kind))
        return captures[len(opened) - 1]

    settings = SourceSettings(source="rtsp://cam/1", reconnect_initial_s=0.01)
    source = VideoSource(settings, opener=opener, clock=lambda: START_MS / 1000)
    stop = threading.Event()
    frames = []
    for frame in source.frames(stop):
        frames.append(frame)
        if len(frames) == 5:
            stop.set()
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert all(f.ts_ms == START_MS for f in frames)  # live frames: wall clock
    assert opened == [("rtsp://cam/1", "stream")] * 3
    assert source.stats.reconnects == 2
    assert all(c.released for c in captures)


def test_a_camera_that_is_never_there_does_not_block_stop() -> None:
    source = VideoSource(
        SourceSettings(source=3, reconnect_initial_s=0.01, reconnect_max_s=0.5),
        opener=lambda s, k: FakeCapture(False, 0),
    )
    stop = threading.Event()
    timer = threading.Timer(0.2, stop.set)
    timer.start()
    assert list(source.frames(stop)) == []
    assert source.stats.reconnects >= 2


def test_max_fps_skips_frames_without_decoding_them() -> None:
    now = [0.0]

    def monotonic() -> float:
        now[0] += 0.01  # every call is 10 ms later: the camera runs at about 100 frames/s
        return now[0]

    capture = FakeCapture(True, 10_000, fps=100.0)
    settings = SourceSettings(source=0, max_fps=10.0)
    source = VideoSource(settings, opener=lambda s, k: capture, monotonic=monotonic)
    stop = threading.Event()
    for delivered, _ in enumerate(source.frames(stop), start=1):
        if delivered == 5:
            stop.set()
    assert capture.grabs >= 4 * 4  # about four skipped for each frame delivered
    assert source.stats.skipped == capture.grabs
