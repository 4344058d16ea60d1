from __future__ import annotations

import numpy as np
import pytest

from edge.door.background import BackgroundKind, RunningAverage, make_background

FPS = 10.0
H, W = 120, 160


def _floor(seed: int = 1) -> np.ndarray:
    """A tiled floor: grey tiles of varied brightness with darker joints, and noise."""
    rng = np.random.default_rng(seed)
    tiles = rng.normal(150, 8, size=(H // 20 + 1, W // 20 + 1))
    floor = np.repeat(np.repeat(tiles, 20, axis=0), 20, axis=1)[:H, :W]
    floor[::20, :] *= 0.75
    floor[:, ::20] *= 0.75
    return np.asarray(np.repeat(floor[..., None], 3, axis=2) * np.array([0.9, 1.0, 1.1]))


def _frame(floor: np.ndarray, rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    noisy = floor * gain + rng.normal(0, 2.0, floor.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _learned(model: RunningAverage, floor: np.ndarray, rng: np.random.Generator) -> None:
    for _ in range(30):
        model.apply(_frame(floor, rng))


# A red coat, and a white one brighter than the sensor can show (clipped, like a floor
# lit past its range, but brighter than the floor: not the floor).
@pytest.mark.parametrize("coat", [(40, 60, 160), (255, 255, 255)], ids=["red", "white"])
def test_a_person_on_the_floor_is_foreground(coat: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(0)
    floor = _floor()
    model = RunningAverage(FPS)
    _learned(model, floor, rng)
    scene = floor.copy()
    scene[40:70, 60:90] = coat
    mask = model.apply(_frame(scene, rng))
    assert mask[55, 75] == 255
    assert np.count_nonzero(mask[40:70, 60:90]) > 0.9 * 30 * 30
    assert np.count_nonzero(mask) < 1.2 * 30 * 30


def test_the_lights_dimming_is_not_foreground() -> None:
    rng = np.random.default_rng(0)
    floor = _floor()
    model = RunningAverage(FPS)
    _learned(model, floor, rng)
    mask = model.apply(_frame(floor, rng, gain=0.7))
    assert np.count_nonzero(mask) < 0.01 * H * W


def test_a_shadow_is_not_foreground_but_a_dark_coat_is() -> None:
    rng = np.random.default_rng(0)
    floor = _floor()
    model = RunningAverage(FPS)
    _learned(model, floor, rng)
    scene = floor.copy()
    scene[20:60, 20:70] *= 0.6  # a soft-edged shadow would be kinder; this one is hard
    scene[70:100, 100:130] = (20, 22, 25)  # a dark coat hides the tile joints
    mask = model.apply(_frame(scene, rng))
    assert np.count_nonzero(mask[25:55, 25:65]) < 0.1 * 30 * 40
    assert np.count_nonzero(mask[72:98, 102:128]) > 0.9 * 26 * 26


def _white_floor_lit_up(rng: np.random.Generator) -> tuple[RunningAverage, np.ndarray, np.ndarray]:
    """A model that has learnt white tiles indoors (left) beside a grey pavement outside
    (right); the floor once the lights indoors go up, the tiles clipping at white and their
    darker joints not; and which pixels are indoors."""
    floor = _floor()
    indoors = np.zeros((H, W), bool)
    indoors[:, : W // 2] = True
    floor[indoors] *= 1.45
    model = RunningAverage(FPS)
    _learned(model, floor, rng)
    lit = floor.copy()
    lit[indoors] *= 1.4
    return model, lit, indoors


def test_a_white_floor_lit_past_the_sensor_s_range_is_not_foreground() -> None:
    rng = np.random.default_rng(0)
    model, lit, indoors = _white_floor_lit_up(rng)
    assert np.mean(_frame(lit, rng)[indoors] == 255) > 0.5
    mask = model.apply(_frame(lit, rng))
    # A few tile joints by the street may stand out; no floor does.
    assert np.count_nonzero(mask) < 0.02 * H * W


def test_someone_on_a_clipped_white_floor_is_still_foreground() -> None:
    rng = np.random.default_rng(0)
    model, lit, _ = _white_floor_lit_up(rng)
    lit[40:70, 20:50] = (40, 60, 160)  # a red coat on the white tiles
    mask = model.apply(_frame(lit, rng))
    assert np.count_nonzero(mask[40:70, 20:50]) > 0.9 * 30 * 30
    assert np.count_nonzero(mask) < 1.4 * 30 * 30  # the coat, not the floor around it


def test_someone_standing_still_stays_foreground_while_frozen() -> None:
    rng = np.random.default_rng(0)
    floor = _floor()
    model = RunningAverage(FPS, learn_s=1.0, absorb_s=2.0)
    _learned(model, floor, rng)
    scene = floor.copy()
    scene[40:70, 60:90] = (200, 80, 60)
    freeze = np.zeros((H, W), np.uint8)
    freeze[35:75, 55:95] = 255
    for _ in range(100):  # ten seconds, far longer than absorb_s
        mask = model.apply(_frame(scene, rng), freeze)
    assert mask[55, 75] == 255
    for _ in range(100):  # not frozen: taken into the background
        mask = model.apply(_frame(scene, rng))
    assert mask[55, 75] == 0


@pytest.mark.parametrize("kind", ["average", "mog2", "knn"])
def test_every_background_kind_finds_a_person(kind: BackgroundKind) -> None:
    rng = np.random.default_rng(0)
    floor = _floor()
    model = make_background(kind, FPS)
    for _ in range(40):
        model.apply(_frame(floor, rng))
    scene = floor.copy()
    scene[40:70, 60:90] = (40, 60, 160)
    mask = model.apply(_frame(scene, rng))
    assert mask.dtype == np.uint8 and mask.shape == (H, W)
    assert np.count_nonzero(mask[40:70, 60:90]) > 0.8 * 30 * 30


def test_unknown_background_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="background"):
        make_background("magic", FPS)  # type: ignore[arg-type]
