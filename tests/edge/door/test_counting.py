"""End to end: synthetic clips of each kind through the whole counter, against the truth."""

from __future__ import annotations

import pytest

from tests.edge.door.clips import clip, count


@pytest.mark.parametrize("seed", [11, 12])
@pytest.mark.parametrize(
    ("scenario", "view"),
    [
        ("single", "overhead"),
        ("side_by_side", "overhead"),
        ("pause", "overhead"),
        ("turn_back", "overhead"),
        ("single", "angled"),
        ("side_by_side", "angled"),
    ],
)
def test_counts_match_the_truth(scenario: str, view: str, seed: int) -> None:
    truth = clip(scenario, seed, view).truth  # type: ignore[arg-type]
    assert count(scenario, seed, view) == (truth.ins, truth.outs)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [11, 12])
def test_two_side_by_side_count_as_two(seed: int) -> None:
    ins, outs = count("side_by_side", seed)
    assert ins + outs == 2


@pytest.mark.parametrize("seed", [11, 12])
def test_a_pause_in_the_doorway_counts_once(seed: int) -> None:
    ins, outs = count("pause", seed)
    assert ins + outs == 1


@pytest.mark.parametrize("seed", [11, 13])
def test_turning_back_counts_nothing(seed: int) -> None:
    door = clip("turn_back", seed)
    ins, outs = count("turn_back", seed)
    # The clip may hold one real crossing besides the turn; that one must be counted alone.
    assert ins + outs == door.truth.ins + door.truth.outs
