"""Optimal one-to-one assignment (the Hungarian method), without scipy.

`assign(cost, limit)` pairs rows (tracks) with columns (detections) to minimise the total
cost, leaving out pairs whose cost is `limit` or more. O(n^3); a doorway has few tracks.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Cost = npt.NDArray[np.float64]


def assign(cost: Cost, limit: float) -> list[tuple[int, int]]:
    """Pairs (row, column) of a minimum-cost matching; pairs at or above `limit` dropped."""
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        return []
    size = max(rows, cols)
    # Pad to square; a forbidden pair costs more than leaving both sides unmatched.
    padded = np.full((size, size), limit, np.float64)
    padded[:rows, :cols] = np.minimum(cost, limit)
    match = _hungarian(padded)
    return [(r, c) for r, c in enumerate(match) if r < rows and c < cols and cost[r, c] < limit]


def _hungarian(cost: Cost) -> list[int]:
    """Column matched to each row of a square matrix (Kuhn-Munkres with potentials)."""
    n = cost.shape[0]
    inf = float("inf")
    u = [0.0] * (n + 1)
    v = [0.0] * (n + 1)
    owner = [0] * (n + 1)  # owner[j]: the row (1-based) matched to column j; 0: none
    way = [0] * (n + 1)
    for i in range(1, n + 1):
        owner[0] = i
        j0 = 0
        minv = [inf] * (n + 1)
        used = [False] * (n + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = owner[j0], inf, 0
            row = cost[i0 - 1]
            for j in range(1, n + 1):
                if not used[j]:
                    reduced = float(row[j - 1]) - u[i0] - v[j]
                    if reduced < minv[j]:
                        minv[j], way[j] = reduced, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(n + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while True:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
            if j0 == 0:
                break
    match = [0] * n
    for j in range(1, n + 1):
        if owner[j]:
            match[owner[j] - 1] = j - 1
    return match
