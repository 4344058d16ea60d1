"""The synthetic door videos: deterministic, with the truth the scenarios promise."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from simulators.door_video import (
    ClipSpec,
    DoorClip,
    installer_settings,
    main,
    varied_set,
    write_video,
)
from simulators.door_video_scenarios import SCENARIOS


def _small(scenario: str, seed: int, view: str = "overhead") -> DoorClip:
    return DoorClip(ClipSpec(scenario=scenario, seed=seed, view=view, width=160, fps=8.0))  # type: ignore[arg-type]


def test_the_same_seed_gives_the_same_frames() -> None:
    a, b = _small("single", 7), _small("single", 7)
    for fa, fb in zip(a.frames(), b.frames(), strict=True):
        assert np.array_equal(fa, fb)


def test_another_seed_gives_another_doorway() -> None:
    a, b = next(_small("single", 7).frames()), next(_small("single", 8).frames())
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(
    ("scenario", "crossings"),
    [("single", 1), ("side_by_side", 2), ("pause", 1), ("opposing", 2)],
)
def test_truth_counts_what_the_scenario_promises(scenario: str, seed: int, crossings: int) -> None:
    truth = _small(scenario, seed).truth
    assert truth.ins + truth.outs == crossings == len(truth.crossings)


@pytest.mark.parametrize("seed", range(8))
def test_turning_back_and_dogs_are_not_crossings(seed: int) -> None:
    turn = _small("turn_back", seed)
    crossers = [a for a in turn.actors if a.build.kind == "person"]
    assert turn.truth.ins + turn.truth.outs == len(crossers) - 1  # all but the one turning
    dog = _small("dog", seed)
    assert dog.truth.ins + dog.truth.outs == 1  # the person, not the dog


def test_the_varied_set_covers_every_scenario_both_views_and_rates() -> None:
    specs = varied_set(3)
    assert len(specs) >= 30
    assert {s.scenario for s in specs} == set(SCENARIOS)
    assert {s.view for s in specs} == {"overhead", "angled"}
    assert len({s.fps for s in specs}) >= 4
    assert len({s.seed for s in specs}) == len(specs)


def test_installer_settings_put_the_shop_on_the_in_side() -> None:
    clip = _small("single", 3)
    chosen = installer_settings(clip)
    assert chosen["in_side"] in ("left", "right") and chosen["band"] > 0
    (x1, y1), (x2, y2) = chosen["line"]
    # A point one metre into the shop must be on the "in" side of the line.
    from edge.door.line import CountingLine

    line = CountingLine((x1, y1), (x2, y2), chosen["in_side"], chosen["band"])
    uv, _ = clip.camera.project(np.array([[0.0, 1.0, 1.2]]))
    assert line.signed_distance((uv[0, 0], uv[0, 1])) > 0


def test_installer_settings_give_an_angled_camera_s_field_of_view() -> None:
    # From the lens (focal length 0.62 of the width): 77.8 degrees across.
    assert installer_settings(_small("single", 3, "angled"))["field_of_view"] == 77.8
    assert installer_settings(_small("single", 3))["field_of_view"] == 0.0


def test_a_written_video_reads_back(tmp_path: Path) -> None:
    clip = _small("single", 2)
    path = tmp_path / "clip.avi"
    write_video(clip, path)
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    assert count == clip.frame_count


def test_the_command_writes_videos_and_truth(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path), "--count", "1", "--width", "160"]) == 0
    assert len(list(tmp_path.glob("*.avi"))) == len(SCENARIOS)
    assert len(list(tmp_path.glob("*.json"))) == len(SCENARIOS)
