from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edge.door.assignment import assign


def test_picks_the_cheaper_pairing_over_the_greedy_one() -> None:
    # Greedy would take (0, 0) at 1 and then pay 10 for (1, 1); the optimum pays 2 + 2.
    cost = np.array([[1.0, 2.0], [2.0, 10.0]])
    assert sorted(assign(cost, 100.0)) == [(0, 1), (1, 0)]


def test_pairs_at_or_over_the_limit_are_left_out() -> None:
    cost = np.array([[0.5, 5.0], [5.0, 1.0]])
    assert assign(cost, 1.0) == [(0, 0)]


def test_empty_and_rectangular_matrices() -> None:
    assert assign(np.zeros((0, 3)), 1.0) == []
    assert sorted(assign(np.array([[0.9, 0.1, 0.5]]), 1.0)) == [(0, 1)]
    assert sorted(assign(np.array([[0.9], [0.1], [0.5]]), 1.0)) == [(1, 0)]


def _best_total(cost: np.ndarray, limit: float) -> float:
    """Brute force: every matching, unmatched rows and columns cost `limit` each side."""
    rows, cols = cost.shape
    best = float("inf")
    for size in range(min(rows, cols) + 1):
        for chosen_rows in itertools.combinations(range(rows), size):
            for chosen_cols in itertools.permutations(range(cols), size):
                pairs = list(zip(chosen_rows, chosen_cols, strict=True))
                if any(cost[r, c] >= limit for r, c in pairs):
                    continue
                total = sum(cost[r, c] for r, c in pairs) + limit * (rows + cols - 2 * size) / 2
                best = min(best, total)
    return best


@given(
    st.integers(1, 4).flatmap(
        lambda rows: st.integers(1, 4).flatmap(
            lambda cols: arrays(np.float64, (rows, cols), elements=st.floats(0, 2))
        )
    )
)
def test_matches_brute_force_optimum(cost: np.ndarray) -> None:
    limit = 1.0
    pairs = assign(cost, limit)
    assert len({r for r, _ in pairs}) == len(pairs) == len({c for _, c in pairs})
    assert all(cost[r, c] < limit for r, c in pairs)
    rows, cols = cost.shape
    total = sum(cost[r, c] for r, c in pairs) + limit * (rows + cols - 2 * len(pairs)) / 2
    assert total <= _best_total(cost, limit) + 1e-9
