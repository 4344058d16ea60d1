"""From a foreground mask to people: clean the mask, find connected blobs, drop those too
small for a person, and split blobs big enough for several people (two abreast, a group)
into one detection each with k-means on the blob's pixels.

Sizes depend on where a blob is: `PersonSize` gives the expected area of one person at an
image row (constant for an overhead camera, growing towards the bottom of an angled view).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

Mask = npt.NDArray[np.uint8]
Anchor = Literal["centroid", "bottom"]
_MAX_PEOPLE_PER_BLOB = 8


@dataclass(frozen=True, slots=True)
class Detection:
    """One person's blob (or share of a blob): where to track it, how big, its bounds."""

    x: float
    y: float
    area: float
    box: tuple[int, int, int, int]  # x, y, width, height
    shared: bool = False  # split out of a blob holding several people


@dataclass(frozen=True, slots=True)
class PersonSize:
    """Expected area of one person (pixels) at image row `y`: `area` at row `at_row`,
    multiplied by `perspective` over the image's full height going down."""

    area: float
    at_row: float
    height: int
    perspective: float = 1.0

    def at(self, y: float) -> float:
        if self.perspective == 1.0:
            return self.area
        return self.area * self.perspective ** ((y - self.at_row) / self.height)

    @property
    def width(self) -> float:
        """A rough body width (pixels) at the reference row, for distances and kernels."""
        return math.sqrt(self.area * 1.6)


@dataclass(frozen=True, slots=True)
class BlobSettings:
    size: PersonSize
    min_area_ratio: float = 0.35  # blobs smaller than this share of a person are ignored
    split_ratio: float = 1.7  # a blob this many people's area or more holds two, and so on
    share_ratio: float = 0.55  # a merged blob must have this much area per tracked person
    anchor: Anchor = "centroid"


def clean(mask: Mask, size: PersonSize) -> Mask:
    """Remove speckle, close gaps inside a body (between head, shoulders and arms), then
    remove whatever is too thin to be a body (a line along a lighting edge, an arm's
    trail), keeping the torsos."""
    opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _ellipse(3))
    width = size.width
    closed = cv2.morphologyEx(opened, cv2.MORPH_CLOSE, _ellipse(max(3, round(width / 7)) | 1))
    thin = max(3, round(width * 0.3)) | 1
    return np.asarray(cv2.morphologyEx(closed, cv2.MORPH_OPEN, _ellipse(thin)), np.uint8)


def people_in(area: float, expected: float, split_ratio: float) -> int:
    """How many people a blob of `area` holds by its size, when one person is `expected`."""
    if area < split_ratio * expected:
        return 1
    return min(_MAX_PEOPLE_PER_BLOB, max(2, math.floor(area / expected + 0.25)))


def detect(
    mask: Mask,
    settings: BlobSettings,
    seeds: Sequence[tuple[float, float]] = (),
    keep: Callable[[float, float], bool] | None = None,
) -> list[Detection]:
    """Detections in a cleaned foreground mask.

    `seeds` are where tracked people are expected now: a blob holding several of them (two
    people who walked into each other) is split between them, if it is big enough for that
    many. `keep(x, y)` may reject blobs by where they are (outside the counting zone).
    """
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    seeds_by_label: dict[int, list[tuple[float, float]]] = {}
    h, w = mask.shape[:2]
    for sx, sy in seeds:
        ix, iy = int(sx), int(sy)
        if 0 <= ix < w and 0 <= iy < h and labels[iy, ix] > 0:
            seeds_by_label.setdefault(int(labels[iy, ix]), []).append((sx, sy))
    found: list[Detection] = []
    for label in range(1, count):
        x, y, bw, bh, area = (int(v) for v in stats[label])
        cx, cy = (float(v) for v in centroids[label])
        if keep is not None and not keep(cx, cy):
            continue
        expected = settings.size.at(cy)
        if area < settings.min_area_ratio * expected:
            continue
        by_size = people_in(area, expected, settings.split_ratio)
        inside = seeds_by_label.get(label, [])
        by_tracks = min(len(inside), math.floor(area / (settings.share_ratio * expected)))
        n = max(by_size, by_tracks)
        ys, xs = np.nonzero(labels[y : y + bh, x : x + bw] == label)
        points = np.stack([xs + x, ys + y], axis=1).astype(np.float32)
        if n == 1:
            found.append(_detection(points, settings.anchor, False))
            continue
        start = inside if len(inside) == n else None
        for group in _split(points, n, start):
            if len(group) >= settings.min_area_ratio * expected * 0.5:
                found.append(_detection(group, settings.anchor, True))
    return found


def _detection(points: npt.NDArray[np.float32], anchor: Anchor, shared: bool) -> Detection:
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    cx = float(points[:, 0].mean())
    cy = float(points[:, 1].mean()) if anchor == "centroid" else float(np.percentile(points[:, 1], 95))
    box = (int(x0), int(y0), int(x1 - x0 + 1), int(y1 - y0 + 1))
    return Detection(cx, cy, float(len(points)), box, shared)


def _split(
    points: npt.NDArray[np.float32],
    n: int,
    start: Sequence[tuple[float, float]] | None = None,
    rounds: int = 8,
) -> list[npt.NDArray[np.float32]]:
    """k-means into `n` groups, seeded at `start` or at quantiles along the main axis."""
    if start is not None:
        centres = np.array(start, np.float64)
    else:
        centre = points.mean(axis=0)
        centred = points - centre
        _, vectors = np.linalg.eigh(centred.T @ centred / len(points))
        axis = vectors[:, -1]
        quantiles = np.quantile(centred @ axis, (np.arange(n) + 0.5) / n)
        centres = centre + quantiles[:, None] * axis[None, :]
    labels = np.zeros(len(points), np.int64)
    for _ in range(rounds):
        d2 = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        new = d2.argmin(axis=1)
        if _ > 0 and np.array_equal(new, labels):
            break
        labels = new
        for k in range(n):
            members = points[labels == k]
            if len(members):
                centres[k] = members.mean(axis=0)
    return [points[labels == k] for k in range(n) if np.any(labels == k)]


def _ellipse(size: int) -> npt.NDArray[np.uint8]:
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)), np.uint8)
