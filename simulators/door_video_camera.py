"""Pinhole camera over a doorway, for the synthetic door-counter videos.

World frame (metres): the floor is z = 0, the door's threshold is the line y = 0 with the
street at y < 0 and the shop at y > 0, and x runs along the threshold. A camera looks
straight down (`tilt` 0) or leans to look out through the door (`tilt` > 0); `yaw` turns
the image so that the threshold is not always horizontal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Camera:
    width: int = 640
    height: int = 480
    focal_px: float = 330.0
    position: tuple[float, float, float] = (0.0, 0.0, 3.2)
    tilt: float = 0.0  # radians from straight down, leaning to look towards the street
    yaw: float = 0.0  # radians about the vertical axis

    def _rotation(self) -> FloatArray:
        ct, st = math.cos(self.tilt), math.sin(self.tilt)
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        # Rows: the image's right, down and forward axes in (unyawed) world coordinates.
        base = np.array(
            [[-1.0, 0.0, 0.0], [0.0, ct, -st], [0.0, -st, -ct]],
        )
        yaw = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
        return np.asarray(base @ yaw, np.float64)

    def to_camera(self, points: FloatArray) -> FloatArray:
        """World points (N, 3) in camera coordinates (N, 3); column 2 is the depth."""
        offset = np.asarray(points, dtype=np.float64) - np.asarray(self.position)
        return np.asarray(offset @ self._rotation().T, np.float64)

    def project(self, points: FloatArray) -> tuple[FloatArray, FloatArray]:
        """World points (N, 3) to pixel coordinates (N, 2) and depth (N,)."""
        cam = self.to_camera(points)
        depth = np.maximum(cam[:, 2], 1e-6)
        uv = np.empty((len(cam), 2))
        uv[:, 0] = self.width / 2 + self.focal_px * cam[:, 0] / depth
        uv[:, 1] = self.height / 2 + self.focal_px * cam[:, 1] / depth
        return uv, depth

    def floor_coordinates(self) -> tuple[FloatArray, FloatArray]:
        """World (x, y) of the floor seen at every pixel, each (height, width)."""
        v, u = np.mgrid[0 : self.height, 0 : self.width].astype(np.float64)
        rays = np.stack(
            [
                (u - self.width / 2) / self.focal_px,
                (v - self.height / 2) / self.focal_px,
                np.ones_like(u),
            ],
            axis=-1,
        )
        world_rays = rays @ self._rotation()  # the inverse of an orthonormal matrix
        dz = np.minimum(world_rays[..., 2], -1e-3)  # rays above the horizon hit far away
        scale = -self.position[2] / dz
        return (
            self.position[0] + world_rays[..., 0] * scale,
            self.position[1] + world_rays[..., 1] * scale,
        )

    def image_line(self, y: float = 0.0, z: float = 0.0) -> tuple[tuple[int, int], ...]:
        """The line world-y = `y` at height `z` across the doorway, as two pixel points."""
        ends = np.array([[-1.5, y, z], [1.5, y, z]])
        uv, _ = self.project(ends)
        return tuple((round(float(p[0])), round(float(p[1]))) for p in uv)

    def shop_side_in_image(self, y: float = 0.0, z: float = 0.0) -> str:
        """Whether the shop lies to the "left" or "right" of `image_line` (see edge.door.line)."""
        (x1, y1), (x2, y2) = self.image_line(y, z)
        uv, _ = self.project(np.array([[0.0, y + 1.0, z]]))
        cross = (x2 - x1) * (uv[0, 1] - y1) - (y2 - y1) * (uv[0, 0] - x1)
        # Image y points down: a positive cross product is on the right, seen from p1 to p2.
        return "right" if cross > 0 else "left"


def overhead(height_m: float, yaw: float, offset_m: float = 0.0, width: int = 640) -> Camera:
    """A ceiling camera straight above the threshold (`offset_m` towards the shop)."""
    return Camera(
        width=width,
        height=width * 3 // 4,
        focal_px=width * 0.5,  # about 90 degrees across
        position=(0.0, offset_m, height_m),
        yaw=yaw,
    )


def angled(height_m: float, back_m: float, tilt: float, yaw: float, width: int = 640) -> Camera:
    """A camera on the shop side, `back_m` behind the threshold, leaning to see the door."""
    return Camera(
        width=width,
        height=width * 3 // 4,
        focal_px=width * 0.62,
        position=(0.0, back_m, height_m),
        tilt=tilt,
        yaw=yaw,
    )
