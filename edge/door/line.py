"""The counting line: which side of it a point is on, with a hysteresis band, and when a
track's sides add up to a true crossing. Pure geometry on plain floats.

A track crosses only when it goes from beyond the band on one side to beyond the band on
the other: someone who pauses in the doorway (inside the band) or who walks up to the line
and turns back is never counted, and jitter around the line cannot count twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Point = tuple[float, float]
Direction = Literal["in", "out"]
InSide = Literal["left", "right"]
OUTSIDE, BAND, INSIDE = -1, 0, 1


@dataclass(frozen=True, slots=True)
class CountingLine:
    """A segment from `p1` to `p2` in image coordinates (x right, y down), the side that is
    "in" as seen looking from `p1` towards `p2` on the screen, and the band's half-width.

    For a horizontal line drawn left to right, "right" is below it on screen.
    """

    p1: Point
    p2: Point
    in_side: InSide = "right"
    band: float = 0.0

    def __post_init__(self) -> None:
        if math.dist(self.p1, self.p2) < 1.0:
            raise ValueError("the counting line's two points must be at least 1 pixel apart")
        if self.band < 0:
            raise ValueError(f"the band must not be negative, got {self.band}")
        if self.in_side not in ("left", "right"):
            raise ValueError(f"in_side must be 'left' or 'right', got {self.in_side!r}")

    @property
    def length(self) -> float:
        return math.dist(self.p1, self.p2)

    @property
    def middle(self) -> Point:
        (x1, y1), (x2, y2) = self.p1, self.p2
        return (x1 + x2) / 2, (y1 + y2) / 2

    def signed_distance(self, point: Point) -> float:
        """Distance in pixels from the (infinite) line, positive on the "in" side."""
        (x1, y1), (x2, y2) = self.p1, self.p2
        cross = (x2 - x1) * (point[1] - y1) - (y2 - y1) * (point[0] - x1)
        # With y pointing down, a positive cross product is on the right, seen from p1.
        sign = 1.0 if self.in_side == "right" else -1.0
        return sign * cross / self.length

    def along(self, point: Point) -> float:
        """Where the point's foot falls along the segment: 0 at p1, 1 at p2."""
        (x1, y1), (x2, y2) = self.p1, self.p2
        dx, dy = x2 - x1, y2 - y1
        return ((point[0] - x1) * dx + (point[1] - y1) * dy) / (dx * dx + dy * dy)

    def half(self, point: Point) -> int:
        """INSIDE or OUTSIDE: the side of the line the point is on, within the band too."""
        return INSIDE if self.signed_distance(point) > 0 else OUTSIDE

    def zone(self, point: Point) -> int | None:
        """INSIDE or OUTSIDE beyond the band, BAND within it, or None past the segment's
        ends (by more than the band), where the line says nothing."""
        margin = self.band / self.length
        if not -margin <= self.along(point) <= 1.0 + margin:
            return None
        distance = self.signed_distance(point)
        if distance > self.band:
            return INSIDE
        if distance < -self.band:
            return OUTSIDE
        return BAND

    def surroundings(self, reach: float) -> list[Point]:
        """The corners of the rectangle around the segment that reaches `reach` pixels
        beyond it every way: across the line and past both its ends."""
        (x1, y1), (x2, y2) = self.p1, self.p2
        ux, uy = (x2 - x1) / self.length * reach, (y2 - y1) / self.length * reach
        nx, ny = -uy, ux
        return [
            (x1 - ux + nx, y1 - uy + ny),
            (x2 + ux + nx, y2 + uy + ny),
            (x2 + ux - nx, y2 + uy - ny),
            (x1 - ux - nx, y1 - uy - ny),
        ]

    def scaled(self, factor: float) -> CountingLine:
        """The same line in an image resized by `factor`."""
        return CountingLine(
            (self.p1[0] * factor, self.p1[1] * factor),
            (self.p2[0] * factor, self.p2[1] * factor),
            self.in_side,
            self.band * factor,
        )


def step(last_side: int, zone: int | None) -> tuple[int, Direction | None]:
    """Advance a track's last definite side (OUTSIDE, INSIDE, or 0 before it has one) by
    the zone it is in now; return the new side and the crossing this completes, if any."""
    if zone is None or zone == BAND:
        return last_side, None
    if last_side == 0 or zone == last_side:
        return zone, None
    return zone, "in" if zone == INSIDE else "out"
