"""Paint one frame of the doorway: textured floor, lighting, soft shadows, people, noise.

People and dogs arrive here as stacks of horizontal elliptical discs (`Disc`) in world
coordinates; each disc is projected through the camera, so the same bodies look right
from straight above and from an angle, and nearer discs hide farther ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from simulators.door_video_camera import Camera

FloatImage = npt.NDArray[np.float32]
Frame = npt.NDArray[np.uint8]
_ELLIPSE_STEPS = np.linspace(0.0, 2 * math.pi, 20, endpoint=False)
_SUBPIXEL = 4  # fixed-point bits for cv2 drawing


@dataclass(frozen=True, slots=True)
class Disc:
    """A horizontal elliptical slice of a body: `centre` (x, y, z), half-axes `along` a unit
    vector `axis` in the floor plane and `across` it."""

    centre: tuple[float, float, float]
    axis: tuple[float, float]
    along: float
    across: float


@dataclass(frozen=True, slots=True)
class Part:
    """A solid body part: the convex hull of its discs (one disc: a flat slice), in one
    BGR colour, casting a shadow or not."""

    discs: tuple[Disc, ...]
    colour: tuple[float, float, float]
    casts_shadow: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Look:
    """How the floor, the street and the lights of one clip look."""

    floor_bgr: tuple[float, float, float]
    floor_contrast: float  # tile-to-tile brightness spread
    tile_m: float
    grout_bgr: tuple[float, float, float]
    mat_bgr: tuple[float, float, float] | None
    street_bgr: tuple[float, float, float]
    wall_bgr: tuple[float, float, float]
    door_half_width: float
    lights: tuple[tuple[float, float, float], ...]  # ceiling lights (x, y, z) casting shadows
    light_size: float  # metres across: a spot (0.05) casts sharp shadows, a panel soft ones
    shadow_strength: float  # 0: no shadows, 1: black shadows
    noise_sigma: float  # sensor read noise, grey levels
    jpeg_quality: int | None  # None: no compression


def paint_floor(camera: Camera, look: Look, seed: int) -> tuple[FloatImage, FloatImage]:
    """The static scene's colour (H, W, 3, 0-255) and how much of each pixel is street (H, W)."""
    rng = np.random.default_rng(seed)
    x, y = camera.floor_coordinates()
    tile_x = np.floor(x / look.tile_m).astype(np.int64)
    tile_y = np.floor(y / look.tile_m).astype(np.int64)
    tile_shade = rng.normal(1.0, look.floor_contrast, size=(64, 64))
    shade = tile_shade[tile_x % 64, tile_y % 64]
    grout = (np.minimum(x / look.tile_m - tile_x, y / look.tile_m - tile_y) * look.tile_m) < 0.012

    h, w = x.shape
    fine = cv2.resize(
        rng.normal(0.0, 1.0, size=(h // 8 + 1, w // 8 + 1)).astype(np.float32),
        (w, h),
        interpolation=cv2.INTER_CUBIC,
    )
    speckle = rng.normal(0.0, 1.0, size=(h, w)).astype(np.float32)
    grain = 1.0 + 0.05 * fine + 0.035 * speckle

    colour = np.empty((h, w, 3), np.float32)
    colour[:] = look.floor_bgr
    colour *= (shade * grain)[..., None].astype(np.float32)
    colour[grout] = look.grout_bgr

    if look.mat_bgr is not None:
        mat = (np.abs(x) < look.door_half_width) & (y > 0.1) & (y < 1.0)
        colour[mat] = np.asarray(look.mat_bgr, np.float32) * grain[mat][:, None]

    wall_depth = 0.12
    street = (y < -wall_depth).astype(np.float32)
    paving = 1.0 + 0.08 * fine + 0.05 * speckle
    street_colour = np.asarray(look.street_bgr, np.float32) * paving[..., None]
    colour = colour * (1.0 - street[..., None]) + street_colour * street[..., None]
    wall = (np.abs(y) <= wall_depth) & (np.abs(x) > look.door_half_width)
    colour[wall] = np.asarray(look.wall_bgr, np.float32) * grain[wall][:, None]
    # Ceiling lights make pools of light on the floor.
    pool = np.full((h, w), 0.75, np.float32)
    for lx, ly, lz in look.lights:
        dist2 = (x - lx) ** 2 + (y - ly) ** 2
        pool += (0.35 * lz**2 / (lz**2 + dist2)).astype(np.float32)
    colour *= np.where(street > 0, 1.0, pool)[..., None]
    street_soft = cv2.GaussianBlur(street, (0, 0), 2.0)
    return np.clip(colour, 0, 255).astype(np.float32), np.asarray(street_soft, np.float32)


_NEAR_M = 0.4  # discs closer to the camera than this are not drawn


def _outlines(
    camera: Camera, discs: Sequence[Disc], light: tuple[float, float, float] | None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each disc's image outline (N, steps, 2) and depth (N,); when `light` is given, the
    outline of the disc's shadow on the floor cast from that point light instead."""
    count = len(discs)
    centres = np.array([d.centre for d in discs], np.float64)
    axes = np.array([d.axis for d in discs], np.float64)
    along = np.array([d.along for d in discs])[:, None]
    across = np.array([d.across for d in discs])[:, None]
    normal = np.stack([-axes[:, 1], axes[:, 0]], axis=1)
    a_end = centres.copy()
    a_end[:, :2] += axes * along
    b_end = centres.copy()
    b_end[:, :2] += normal * across
    points = np.concatenate([centres, a_end, b_end])
    if light is not None:
        source = np.asarray(light)
        scale = source[2] / np.maximum(source[2] - points[:, 2], 0.05)
        points = source + (points - source) * scale[:, None]
        points[:, 2] = 0.0
    uv, depth = camera.project(points)
    centre_uv, p, q = uv[:count], uv[count : 2 * count] - uv[:count], uv[2 * count :] - uv[:count]
    cos, sin = np.cos(_ELLIPSE_STEPS), np.sin(_ELLIPSE_STEPS)
    outline = (
        centre_uv[:, None, :]
        + p[:, None, :] * cos[None, :, None]
        + q[:, None, :] * sin[None, :, None]
    )
    return outline, depth[:count]


def _hulls(
    camera: Camera, parts: Sequence[Part], light: tuple[float, float, float] | None = None
) -> list[tuple[int, npt.NDArray[np.float64], float]]:
    """(part index, image hull, depth) of every part in front of the camera and in view."""
    discs = [d for part in parts for d in part.discs]
    if not discs:
        return []
    outlines, depths = _outlines(camera, discs, light)
    hulls = []
    first = 0
    for index, part in enumerate(parts):
        last = first + len(part.discs)
        depth = float(depths[first:last].min())
        points = outlines[first:last].reshape(-1, 2)
        first = last
        if depth < _NEAR_M:
            continue
        low, high = points.min(axis=0), points.max(axis=0)
        if high[0] < 0 or high[1] < 0 or low[0] > camera.width or low[1] > camera.height:
            continue
        hull = cv2.convexHull(points.astype(np.float32)).reshape(-1, 2).astype(np.float64)
        hulls.append((index, hull, depth))
    return hulls


def _fixed(points: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    return np.round(points * (1 << _SUBPIXEL)).astype(np.int32)


def paint_shadows(camera: Camera, look: Look, parts: Sequence[Part]) -> FloatImage | None:
    """How much light each pixel loses to shadows (H, W, 0-1), or None when nothing casts."""
    casting = [p for p in parts if p.casts_shadow]
    if not casting or look.shadow_strength <= 0:
        return None
    mask = np.zeros((camera.height, camera.width), np.float32)
    share = look.shadow_strength / len(look.lights)
    for light in look.lights:
        layer = np.zeros_like(mask)
        for _, hull, _ in _hulls(camera, casting, light):
            cv2.fillConvexPoly(layer, _fixed(hull), 1.0, cv2.LINE_AA, _SUBPIXEL)
        mask += share * layer
    # Penumbra: a light of size s blurs the shadow of something at height z by about
    # s * z / (H - z) on the floor; bodies are about 1.2 m up, lights about 3 m.
    px_per_m = camera.focal_px / camera.position[2]
    blur = max(1.0, camera.width / 320, look.light_size * 1.2 / 1.8 * px_per_m / 2)
    return np.clip(cv2.GaussianBlur(mask, (0, 0), blur), 0.0, 0.95)


def paint_bodies(image: FloatImage, camera: Camera, parts: Sequence[Part]) -> None:
    """Draw parts farthest first, each with a darker rim so that bodies look rounded."""
    hulls = sorted(_hulls(camera, parts), key=lambda h: -h[2])
    for index, hull, _ in hulls:
        colour = parts[index].colour
        rim = (0.75 * colour[0], 0.75 * colour[1], 0.75 * colour[2])
        cv2.fillConvexPoly(image, _fixed(hull), rim, cv2.LINE_AA, _SUBPIXEL)
        centre = hull.mean(axis=0)
        core = centre + (hull - centre) * 0.7
        cv2.fillConvexPoly(image, _fixed(core), colour, cv2.LINE_AA, _SUBPIXEL)


class Noise:
    """Sensor noise: read noise plus shot noise that grows with brightness. Fresh normal
    samples for every pixel of every frame are slow to draw, so each frame combines two
    randomly offset crops of a pre-drawn pool (independent enough for a background model)."""

    _MARGIN = 64

    def __init__(self, shape: tuple[int, int, int], sigma: float, rng: np.random.Generator):
        h, w, c = shape
        size = (2, h + self._MARGIN, w + self._MARGIN, c)
        self._pool = rng.standard_normal(size, dtype=np.float32) * np.float32(1 / math.sqrt(2))
        self._shape = shape
        self._read_var = np.float32(sigma**2)
        self._rng = rng

    def sample(self) -> FloatImage:
        h, w, _ = self._shape
        dy, dx = self._rng.integers(0, self._MARGIN, size=(2, 2))
        first = self._pool[0, dy[0] : dy[0] + h, dx[0] : dx[0] + w]
        second = self._pool[1, dy[1] : dy[1] + h, dx[1] : dx[1] + w]
        return np.asarray(first + second, np.float32)

    def add(self, lit: FloatImage) -> FloatImage:
        sigma = cv2.sqrt(lit * np.float32(0.04) + self._read_var)
        return np.asarray(lit + sigma * self.sample(), np.float32)


def finish(image: FloatImage, gain: FloatImage, look: Look, noise: Noise) -> Frame:
    """Apply illumination, sensor noise, quantisation and JPEG compression."""
    lit = image * gain[..., None]
    frame = np.clip(noise.add(lit), 0, 255).astype(np.uint8)
    if look.jpeg_quality is None:
        return frame
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, look.jpeg_quality])
    if not ok:  # pragma: no cover - the JPEG codec is built into OpenCV
        return frame
    return np.asarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR), np.uint8)
