"""The door agent end to end: a real video file (written with cv2.VideoWriter) through the
file source, the counter and the event sink, to events that ingest decodes."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edge.door.agent import DoorAgent, crossing_events
from edge.door.counter import Crossing
from edge.door.errors import SourceError
from edge.door.sources import SourceKind
from simulators.door_video import DoorClip, installer_settings, write_video
from storesense.cli.main import main
from storesense.protocol.decode import decode_events
from storesense.protocol.events import AnyEvent, DoorCrossing, encode_events
from tests.edge.door.clips import FPS, clip, settings

START = "2026-11-26T10:00:00Z"
START_MS = 1_795_687_200_000


class ListSink:
    def __init__(self) -> None:
        self.batches: list[list[AnyEvent]] = []

    def emit(self, events: Sequence[AnyEvent]) -> None:
        self.batches.append(list(events))

    @property
    def events(self) -> list[AnyEvent]:
        return [e for batch in self.batches for e in batch]


def _section(door: DoorClip, scenario: str, seed: int, **extra: Any) -> dict[str, Any]:
    measured = settings(scenario, seed)
    return {
        **installer_settings(door),
        "person_area": measured.person_area,
        "person_aspect": measured.person_aspect,
        "downscale": 1,
        "start_time": START,
        "door": "main",
        **extra,
    }


@pytest.fixture(scope="module")
def walk_in(tmp_path_factory: pytest.TempPathFactory) -> tuple[DoorClip, Path]:
    door = clip("single", 11)
    path = tmp_path_factory.mktemp("video") / "single.avi"
    write_video(door, path)
    return door, path


def test_a_video_file_gives_crossing_events_that_ingest_accepts(
    walk_in: tuple[DoorClip, Path],
) -> None:
    door, path = walk_in
    agent = DoorAgent.from_config(_section(door, "single", 11, source=str(path)))
    assert agent.kind == "door"
    sink = ListSink()
    agent.run(sink, threading.Event())
    events = sink.events
    assert [(e.direction, e.count) for e in events if isinstance(e, DoorCrossing)] == [
        ("in" if door.truth.ins else "out", 1)
    ]
    decoded = decode_events(encode_events(events), "demo-store", "door-1")
    assert decoded.rejected == []
    (accepted,) = decoded.accepted
    event = accepted.event
    assert isinstance(event, DoorCrossing) and event.door == "main"
    # Timed by the frame: the start time plus the frame's offset in the video.
    (truth,) = door.truth.crossings
    assert START_MS <= event.ts_ms <= START_MS + door.frame_count * 1000 / FPS
    assert abs(event.ts_ms - (START_MS + truth.frame * 1000 / FPS)) < 1500


def test_annotated_video_and_snapshot_are_written(
    walk_in: tuple[DoorClip, Path], tmp_path: Path
) -> None:
    door, path = walk_in
    section = _section(
        door,
        "single",
        11,
        source=str(path),
        annotate_path=str(tmp_path / "out" / "annotated.avi"),
        snapshot_path=str(tmp_path / "out" / "line.jpg"),
    )
    DoorAgent.from_config(section).run(ListSink(), threading.Event())
    capture = cv2.VideoCapture(str(tmp_path / "out" / "annotated.avi"))
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    assert frames == door.frame_count
    still = cv2.imread(str(tmp_path / "out" / "line.jpg"))
    assert still is not None and still.shape == (door.camera.height, door.camera.width, 3)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"band": "wide"}, "band"),
        ({"in_side": "up"}, "in_side"),
        ({"line": [[10, 10]]}, "line"),
        ({"line": [[10, 10], [10, 10]]}, "line"),
        ({"downscale": 0}, "downscale"),
        ({"field_of_view": 180}, "field_of_view"),
        ({"field_of_view": -10}, "field_of_view"),
        ({"colour": "red"}, "colour"),
        ({"start_time": "2026-11-26T10:00:00"}, "start_time"),
    ],
)
def test_a_bad_key_is_named_and_the_config_stays(change: dict[str, Any], key: str) -> None:
    good = {"line": [[0, 240], [640, 240]], "source": 0}
    agent = DoorAgent.from_config(good)
    with pytest.raises(ValueError, match=f"`{key}`"):
        agent.apply_config({**good, **change})
    assert agent.config.line == ((0.0, 240.0), (640.0, 240.0))


def test_a_missing_line_is_named() -> None:
    with pytest.raises(ValueError, match="`line` is required"):
        DoorAgent.from_config({"source": 0})


def test_a_missing_file_is_a_source_error(tmp_path: Path) -> None:
    agent = DoorAgent.from_config({"line": [[0, 1], [5, 1]], "source": str(tmp_path / "x.mp4")})
    with pytest.raises(SourceError, match="does not exist"):
        agent.run(ListSink(), threading.Event())


class ClipCapture:
    """A stream that plays a clip's frames, then drops."""

    def __init__(self, frames: Iterator[np.ndarray], on_frame: Any) -> None:
        self._frames = frames
        self._on_frame = on_frame

    def isOpened(self) -> bool:
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        frame = next(self._frames, None)
        if frame is None:
            return False, None
        self._on_frame()
        return True, frame

    def grab(self) -> bool:
        return True

    def get(self, prop: int) -> float:
        return FPS if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self) -> None:
        pass


def test_live_config_applies_between_frames_and_events_use_the_wall_clock() -> None:
    door = clip("single", 11)
    stop = threading.Event()
    agent: DoorAgent
    seen = [0]

    def on_frame() -> None:
        seen[0] += 1
        if seen[0] == 5:  # early, before anyone reaches the door
            agent.apply_config({**section, "door": "side-entrance"})

    def opener(source: str | int, kind: SourceKind) -> ClipCapture:
        if seen[0]:
            stop.set()  # the clip is over: stop instead of reconnecting
        return ClipCapture(door.frames(), on_frame)

    section = _section(door, "single", 11, source="rtsp://camera/door")
    section.pop("start_time")
    agent = DoorAgent.from_config(section, opener=opener, clock=lambda: START_MS / 1000)
    sink = ListSink()
    agent.run(sink, stop)
    (event,) = sink.events
    assert isinstance(event, DoorCrossing)
    assert event.door == "side-entrance" and event.ts_ms == START_MS


def test_crossings_of_one_frame_become_one_event_per_direction() -> None:
    crossings = [
        Crossing("in", 2, 1, 7, 0.0, 0.0),
        Crossing("in", 1, 2, 7, 0.0, 0.0),
        Crossing("out", 1, 3, 7, 0.0, 0.0),
    ]
    events = crossing_events(crossings, START_MS, None)
    summary = [(e.direction, e.count) for e in events if isinstance(e, DoorCrossing)]
    assert summary == [("in", 3), ("out", 1)]
    assert len({e.id for e in events}) == 2
    assert all(e.id.startswith(f"{START_MS:011x}") for e in events)


def _door_toml(path: Path, section: dict[str, Any]) -> Path:
    (x1, y1), (x2, y2) = section["line"]
    config = path / "door.toml"
    config.write_text(
        'store = "store-7"\ndevice = "door-1"\n[broker]\nurl = "mqtt://127.0.0.1:1"\n'
        f'[outbox]\npath = "{path / "outbox.sqlite"}"\n[door]\n'
        f"line = [[{x1}, {y1}], [{x2}, {y2}]]\n"
        f'in_side = "{section["in_side"]}"\nband = {section["band"]}\ndownscale = 1\n'
    )
    return config


def test_door_calibrate_prints_one_persons_measure_from_a_walk_test_video(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    door = clip("single", 11)
    video = tmp_path / "walk.avi"
    write_video(door.walk_test(), video)
    config = _door_toml(tmp_path, installer_settings(door))
    assert main(["edge", "door-calibrate", "--config", str(config), "--video", str(video)]) == 0
    printed = dict(
        line.split(" = ") for line in capsys.readouterr().out.splitlines() if " = " in line
    )
    # The same measure as from the rendered frames, give or take the codec's artefacts.
    expected = settings("single", 11)
    assert float(printed["person_area"]) == pytest.approx(expected.person_area, rel=0.15)
    assert float(printed["person_aspect"]) == pytest.approx(expected.person_aspect, rel=0.15)
    # An overhead camera: the walker's side shows further out.
    assert expected.radial_growth > 0
    assert float(printed["radial_growth"]) == pytest.approx(expected.radial_growth, rel=0.3)
    assert float(printed["radial_from"]) == pytest.approx(expected.radial_from, rel=0.15)


def test_door_calibrate_names_a_video_without_a_lone_walker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    door = clip("single", 11)
    video = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), FPS, (320, 240))
    for _ in range(20):
        writer.write(np.full((240, 320, 3), 90, np.uint8))
    writer.release()
    config = _door_toml(tmp_path, installer_settings(door))
    assert main(["edge", "door-calibrate", "--config", str(config), "--video", str(video)]) != 0
    assert "walk test: a lone person was seen near the line in 0 frames" in capsys.readouterr().err
