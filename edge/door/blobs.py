"""From a foreground mask to detections: clean the mask, find connected blobs, drop those
too small for a person, and say how many people each blob holds.

A blob may hold several people (two abreast, a group in step). It stays one detection
with a head count (`people`) estimated from its area and its spread along and across the
counting line, compared with one person's (`PersonSize`), unless the tracker already
follows several people inside it (they walked into each other): then it is split between
them with k-means on its pixels, seeded at where they are expected.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

Mask = npt.NDArray[np.uint8]
Anchor = Literal["centroid", "bottom"]
MAX_PEOPLE_PER_BLOB = 8


@dataclass(frozen=True, slots=True)
class Detection:
    """A blob (or one tracked person's share of it): where to track it, its size and
    bounds, and how many people it seems to hold."""

    x: float
    y: float
    area: float
    box: tuple[int, int, int, int]  # x, y, width, height
    people: int = 1
    shared: bool = False  # split out of a blob between tracked people
    spread: tuple[float, float] = (0.0, 0.0)  # std of its pixels across and along the line


@dataclass(frozen=True, slots=True)
class PersonSize:
    """One person's blob: `area` (pixels) at image row `at_row`, multiplied by
    `perspective` over the image's full height going down (an angled camera), and
    `aspect`, its spread along the walking direction (the line's normal) over its spread
    across (along the line).

    Seen from straight above (`radial` > 0), more of someone's side comes into view the
    further they are from the image's centre: beyond `radial_from` pixels from `centre`
    their blob grows by `radial` of its area per pixel, stretched along the ray from the
    centre (nearer in, their head and shoulders hide it).
    """

    area: float
    at_row: float
    height: int
    perspective: float = 1.0
    aspect: float = 1.0
    radial: float = 0.0
    radial_from: float = 0.0
    centre: tuple[float, float] = (0.0, 0.0)
    focal: float = 0.0  # the lens's focal length in pixels (0: unknown)
    reference: tuple[float, float] = (0.0, 0.0)  # where one person's blob is `area`

    def at(self, x: float, y: float) -> float:
        """One person's blob area at image point (x, y)."""
        return self._seen_from_above(y) * self._growth(x, y) * self._off_axis(x, y)

    def _off_axis(self, x: float, y: float) -> float:
        return off_axis_gain((x, y), self.reference, self.centre, self.focal)

    def spreads(
        self, x: float, y: float, across: tuple[float, float] = (1.0, 0.0)
    ) -> tuple[float, float]:
        """Standard deviations (across, along the line whose unit direction is `across`) of
        one person's pixels at (x, y), taking the blob as an ellipse (area = 4 pi across
        along), stretched along the ray from the centre by what `radial` adds."""
        base = self._seen_from_above(y) * self._off_axis(x, y)
        one_across = self._across_spread(base)
        one_along = one_across * self.aspect
        growth = self._growth(x, y)
        if growth == 1.0:
            return one_across, one_along
        dx, dy = x - self.centre[0], y - self.centre[1]
        r = math.hypot(dx, dy)
        ux, uy = across
        c_across, c_along = (dx * ux + dy * uy) / r, (-dx * uy + dy * ux) / r
        # The body and its side: a strip from the body's edge outwards along the ray, as
        # wide as the body is across the ray, as long as the extra area needs.
        ray = one_across**2 * c_across**2 + one_along**2 * c_along**2
        width = 4 * math.sqrt(one_across**2 * c_along**2 + one_along**2 * c_across**2)
        length = base * (growth - 1.0) / width
        body, side = 1.0 / growth, 1.0 - 1.0 / growth
        edge = 2 * math.sqrt(ray)
        mixed = body * ray + side * length**2 / 12 + body * side * (edge + length / 2) ** 2
        extra = mixed - ray
        return (
            math.sqrt(one_across**2 + extra * c_across**2),
            math.sqrt(one_along**2 + extra * c_along**2),
        )

    def _seen_from_above(self, y: float) -> float:
        if self.perspective == 1.0:
            return self.area
        return float(self.area * self.perspective ** ((y - self.at_row) / self.height))

    def _across_spread(self, area: float) -> float:
        return math.sqrt(area / (4 * math.pi * self.aspect))

    def _growth(self, x: float, y: float) -> float:
        if not self.radial:
            return 1.0
        r = math.hypot(x - self.centre[0], y - self.centre[1])
        return 1.0 + self.radial * max(0.0, r - self.radial_from)

    @property
    def width(self) -> float:
        """A rough body width (pixels) at the reference row, for distances and kernels."""
        return 4 * self._across_spread(self.area)


@dataclass(frozen=True, slots=True)
class BlobSettings:
    size: PersonSize
    across: tuple[float, float] = (1.0, 0.0)  # unit vector along the counting line
    min_area_ratio: float = 0.35  # blobs smaller than this share of a person are ignored
    split_ratio: float = 1.9  # a blob this many people's area or more holds two, and so on
    # A blob as wide (or deep) as a row of people is that many if its area, over theirs,
    # is within these bounds.
    grid_agreement: tuple[float, float] = (0.6, 1.6)
    share_ratio: float = 0.55  # a blob split between tracks needs this area per person
    # A small blob (under `slight_ratio` of a person's area) this much narrower across the
    # line than a person's shoulders is not a person (a dog, a trolley, a bag).
    min_width_ratio: float = 0.6
    slight_ratio: float = 0.6
    anchor: Anchor = "centroid"


def off_axis_gain(
    point: tuple[float, float],
    reference: tuple[float, float],
    centre: tuple[float, float],
    focal: float,
) -> float:
    """How much bigger a body looks at image `point` than at `reference`, at the same depth,
    through a lens of `focal` pixels centred on `centre`: off the optical axis a pinhole
    camera stretches what it sees by 1 / cos^3 of the angle off axis (a wide lens: 1.6
    times at 31 degrees). 1 if the focal length is unknown (0)."""
    if not focal:
        return 1.0

    def stretch(p: tuple[float, float]) -> float:
        r2 = ((p[0] - centre[0]) ** 2 + (p[1] - centre[1]) ** 2) / (focal * focal)
        return float((1.0 + r2) ** 1.5)

    return stretch(point) / stretch(reference)


def focal_length(field_of_view: float, width: float) -> float:
    """A lens's focal length in pixels from its field of view across `width` pixels (0 if
    the field of view is unknown)."""
    if not field_of_view:
        return 0.0
    return width / 2 / math.tan(math.radians(field_of_view) / 2)


def clean(mask: Mask, size: PersonSize) -> Mask:
    """Remove speckle, close gaps inside a body (between head, shoulders and arms), fill
    what a body encloses, then remove whatever is too thin to be a body (a line along a
    lighting edge, an arm's trail), keeping the torsos."""
    opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _ellipse(3))
    width = size.width
    closed = cv2.morphologyEx(opened, cv2.MORPH_CLOSE, _ellipse(max(3, round(width / 7)) | 1))
    filled = _fill_holes(np.asarray(closed, np.uint8))
    thin = max(3, round(width * 0.3)) | 1
    return np.asarray(cv2.morphologyEx(filled, cv2.MORPH_OPEN, _ellipse(thin)), np.uint8)


def _fill_holes(mask: Mask) -> Mask:
    """Fill what a blob encloses (the inside of a torso as plain as the floor's shadow)."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = mask.copy()
    cv2.drawContours(filled, contours, -1, 255, thickness=cv2.FILLED)
    return filled


def people_in(area: float, across: float, along: float, x: float, y: float, s: BlobSettings) -> int:
    """How many people a blob holds, from its area and its spreads (standard deviations of
    its pixels across and along the line) compared with one person's at (x, y).

    Two readings: the area, and a grid of people (so many abreast times so many in file)
    from the spreads. The grid wins when the area agrees with it, since areas lie both ways
    (a body fading against the floor, a shadow) while two abreast are always twice as wide;
    otherwise the area decides (a compact group, arms out)."""
    expected = s.size.at(x, y)
    ratio = area / expected
    one_across, one_along = s.size.spreads(x, y, s.across)
    grid = _in_a_row(across / one_across) * _in_a_row(along / one_along)
    low, high = s.grid_agreement
    # A wide and deep group need not fill its grid: one empty place is fine, two are not.
    if grid >= 2 and max(low * grid, grid - 1.5) <= ratio <= high * grid:
        return min(MAX_PEOPLE_PER_BLOB, grid)
    if ratio < s.split_ratio:
        return 1
    # People in a group overlap a little (and hide each other from an angle).
    return min(MAX_PEOPLE_PER_BLOB, max(2, math.floor(ratio + 0.6)))


def _in_a_row(spread_ratio: float) -> int:
    """People side by side in a row whose pixels spread `spread_ratio` times one person's:
    bodies 4 standard deviations wide, touching, spread about 2.2 for two, 3.4 for three
    (less where they overlap or fade against the floor)."""
    return 1 if spread_ratio < 1.6 else 1 + math.floor((spread_ratio - 0.5) / 1.1)


def detect(
    mask: Mask,
    settings: BlobSettings,
    seeds: Sequence[tuple[float, float]] = (),
    keep: Callable[[float, float], bool] | None = None,
) -> list[Detection]:
    """Detections in a cleaned foreground mask.

    `seeds` are where tracked people are expected now: a blob holding several of them is
    split between them if it is big enough for that many. `keep(x, y)` may reject blobs by
    where they are (outside the counting zone).
    """
    count, found_labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    labels: npt.NDArray[np.integer[Any]] = np.asarray(found_labels, np.int32)
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
        expected = settings.size.at(cx, cy)
        if area < settings.min_area_ratio * expected:
            continue
        inside = seeds_by_label.get(label, [])
        tracked = min(len(inside), math.floor(area / (settings.share_ratio * expected)))
        if tracked < 2:
            if keep is None or keep(cx, cy):
                detection = _detection(_pixels(labels, label, (x, y, bw, bh)), settings)
                if not _too_slight(detection, cx, cy, settings):
                    found.append(detection)
            continue
        # Split first, then keep the shares near the line: a crowd outside merged with
        # people on the threshold must not hide them.
        for group in _split(_pixels(labels, label, (x, y, bw, bh)), inside):
            if len(group) < settings.min_area_ratio * expected * 0.5:
                continue
            share = _detection(group, settings, shared=True)
            if keep is None or keep(share.x, float(group[:, 1].mean())):
                found.append(share)
    return found


def _too_slight(detection: Detection, x: float, y: float, s: BlobSettings) -> bool:
    """Small and narrow across the line: not someone's shoulders."""
    return (
        detection.area < s.slight_ratio * s.size.at(x, y)
        and detection.spread[0] < s.min_width_ratio * s.size.spreads(x, y, s.across)[0]
    )


def _pixels(
    labels: npt.NDArray[np.integer[Any]], label: int, box: tuple[int, int, int, int]
) -> npt.NDArray[np.float32]:
    x, y, w, h = box
    ys, xs = np.nonzero(labels[y : y + h, x : x + w] == label)
    return np.stack([xs + x, ys + y], axis=1).astype(np.float32)


def _detection(
    points: npt.NDArray[np.float32], settings: BlobSettings, shared: bool = False
) -> Detection:
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    cx = float(points[:, 0].mean())
    cy = float(points[:, 1].mean())
    ux, uy = settings.across
    across = float((points[:, 0] * ux + points[:, 1] * uy).std())
    along = float((points[:, 0] * -uy + points[:, 1] * ux).std())
    people = people_in(len(points), across, along, cx, cy, settings)
    if settings.anchor == "bottom":
        cy = float(np.percentile(points[:, 1], 95))
    box = (int(x0), int(y0), int(x1 - x0 + 1), int(y1 - y0 + 1))
    return Detection(cx, cy, float(len(points)), box, people, shared, (across, along))


def _split(
    points: npt.NDArray[np.float32], start: Sequence[tuple[float, float]], rounds: int = 8
) -> list[npt.NDArray[np.float32]]:
    """k-means of the blob's pixels into one group per seed, starting at the seeds."""
    centres = np.array(start, np.float64)
    labels = np.zeros(len(points), np.int64)
    for round_ in range(rounds):
        d2 = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        new = d2.argmin(axis=1)
        if round_ > 0 and np.array_equal(new, labels):
            break
        labels = new
        for k in range(len(centres)):
            members = points[labels == k]
            if len(members):
                centres[k] = members.mean(axis=0)
    return [points[labels == k] for k in range(len(centres)) if np.any(labels == k)]


def _ellipse(size: int) -> npt.NDArray[np.uint8]:
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)), np.uint8)
