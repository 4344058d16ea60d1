"""Background subtraction: which pixels of a frame are something in front of the floor.

`RunningAverage` is ours: a per-pixel mean and variance, with a lighting gain estimated
locally (so that clouds outside and lights switching inside are not mistaken for people),
shadows told apart by colour (darker but the same hue), pixels the camera clipped at white
taken for what they are (a floor brightened past the sensor's range looks no brighter), and
a `freeze` mask so that a person standing still in the doorway is not learned into the
background. `Mog2` and `Knn` wrap OpenCV's subtractors (shadow pixels dropped) for
comparison; `make_background` picks one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.uint8]  # 0 or 255
FloatArray = npt.NDArray[np.float32]
BackgroundKind = Literal["average", "mog2", "knn"]
_ONES = np.ones((1, 3), np.float32)
_NEAR3 = np.ones((3, 3), np.uint8)
_NEAR5 = np.ones((5, 5), np.uint8)
_GAP_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))  # shadow gaps closed
_EVEN_GAIN = 0.03  # cells around differ by less than this: lighting is even there
_REFRESH = 4  # frames between refreshes of the background's brightness, hue and edges
_TEXTURE_WINDOW = 7  # pixels over which gradients are compared
_FLAT = 24.0  # background gradient energy, over its noise variance, below which it is flat
_FAINT_CAP = np.float32(4.0)  # z capped at this before the 5x5 average
_SETTLED = 4.0  # squared distance over variance below which a pixel is surely background
_CLIPPED = 250  # a channel this bright may have been brighter: the sensor's ceiling
_CLIPPED_FEW = 16  # a cell with under 1/this of its pixels unclipped has no gain of its own


class BackgroundModel(Protocol):
    def apply(self, frame: Image, freeze: Mask | None = None) -> Mask:
        """Foreground mask (255) of a BGR frame; learn the background except where `freeze`."""
        ...


class RunningAverage:
    """Per-pixel mean and variance with local lighting compensation and shadow removal.

    A pixel is foreground when its colour distance from the background, over its own noise
    variance, exceeds `threshold`, or when the same ratio averaged over 5x5 pixels exceeds
    `area_threshold` (a faint but consistent difference: clothes nearly the floor's colour).
    It is a shadow, not foreground, when it is darker by a ratio within `shadow_ratio`, has
    the background's chromaticity, keeps the background's texture (a shadow darkens the
    tile joints it falls on; a person hides them) and darkens it smoothly (a shadow's
    edge is a soft penumbra; a body's outline is sharp).
    `learn_s` is how fast the background follows slow changes, `absorb_s` how fast it takes
    in foreground that is not frozen (something left behind, a ghost).
    """

    def __init__(
        self,
        fps: float,
        *,
        threshold: float = 9.0,
        area_threshold: float = 3.0,
        learn_s: float = 2.0,
        absorb_s: float = 20.0,
        warmup_s: float = 1.0,
        shadow_ratio: tuple[float, float] = (0.35, 0.97),
        shadow_chroma: float = 0.05,
        shadow_texture: float = 0.4,
        shadow_spread: float = 0.04,
        cell: int = 16,
    ) -> None:
        self._threshold = np.float32(threshold)
        self._area_threshold = np.float32(area_threshold)
        self._alpha = np.float32(1.0 - math.exp(-1.0 / (fps * learn_s)))
        self._alpha_fg = np.float32(1.0 - math.exp(-1.0 / (fps * absorb_s)))
        self._warmup = max(1, round(fps * warmup_s))
        self._shadow_ratio = shadow_ratio
        self._shadow_chroma = np.float32(shadow_chroma)
        self._shadow_texture = np.float32(shadow_texture)
        self._shadow_spread = np.float32(shadow_spread)
        self._cell = cell
        self._mean: FloatArray | None = None
        self._var: FloatArray | None = None
        self._seen = 0
        self._reference: _Reference | None = None
        self._min_var = np.float32(3 * 2.0**2)  # 2 grey levels per channel

    def apply(self, frame: Image, freeze: Mask | None = None) -> Mask:
        image = frame.astype(np.float32)
        if self._mean is None or self._var is None or self._mean.shape != image.shape:
            self._mean = image.copy()
            self._var = np.full(image.shape[:2], self._min_var * 4, np.float32)
            self._seen = 1
            self._reference = None
            return np.zeros(image.shape[:2], np.uint8)
        self._seen += 1
        mean, var = self._mean, self._var
        if self._reference is None or self._seen % _REFRESH == 0:
            self._reference = _Reference.of(mean)
        ref = self._reference
        raw_lum = _channel_sum(image) + np.float32(3.0)
        clipped = image >= _CLIPPED
        gain = self._gain(raw_lum / ref.lum, _channel_sum(clipped.astype(np.float32)) > 0)
        corrected = image / gain[..., None]
        lum = raw_lum / gain
        diff = corrected - mean
        # A clipped channel darker than the background brightened would be is as bright as
        # the sensor shows: no evidence of anything in front of the floor.
        seen = np.where(clipped & (diff < 0), np.float32(0), diff)
        dist2 = np.einsum("ijk,ijk->ij", seen, seen)
        z = dist2 / var
        # Different from the background both after and before the lighting correction: the
        # correction is smooth, so next to a sharp-edged change it can be wrong (the lit
        # floor beside a large shadow would look brighter than the background).
        raw = image - mean
        z_raw = np.einsum("ijk,ijk->ij", raw, raw) / var
        candidate = self._differs(z) & self._differs(z_raw)
        foreground = candidate & ~self._shadow(corrected, lum, raw_lum, ref, var, candidate)

        fg = foreground.astype(np.uint8) * 255
        if self._seen <= self._warmup:
            alpha_map = np.full(dist2.shape, 1.0 / self._seen, np.float32)
            fg[:] = 0
            self._reference = None
        else:
            # Learn quickly only what is surely background: a faint shadow or the edge of a
            # person learned now would stand out as a ghost when they are gone.
            settled = (z < _SETTLED) & ~candidate
            alpha_map = np.where(settled, self._alpha, self._alpha_fg).astype(np.float32)
            if freeze is not None:
                alpha_map[freeze > 0] = 0.0
        mean += diff * alpha_map[..., None]
        var += (np.minimum(dist2, var * 25) - var) * alpha_map
        np.maximum(var, self._min_var, out=var)
        return fg

    def _differs(self, z: FloatArray) -> npt.NDArray[np.bool_]:
        # Capped before averaging, so that a strong neighbour does not grow a halo.
        faint = _box(np.minimum(z, _FAINT_CAP), 5) > self._area_threshold
        return np.asarray((z > self._threshold) | faint)

    def _gain(self, ratio: FloatArray, clipped: npt.NDArray[np.bool_]) -> FloatArray:
        """Per-pixel lighting gain of this frame against the background, from the ratio of
        their brightness.

        The median ratio of each cell of `cell` pixels (a person covering part of a cell does
        not move it), then the median of the 5x5 cells around each cell (nor does a person
        covering a few whole cells), so that clouds outside or a light switched (many cells)
        are followed and people are not. No mask of last frame's foreground is used, so a
        wrong estimate cannot feed on itself. Where lighting changes differently on either
        side of an edge (the street beyond a door frame), a cell holds both: each pixel takes
        whichever of its cell's gain and the lowest and highest of the 8 around it best
        explains it.

        Pixels clipped at white only show that their ratio is at least what it seems (a white
        floor under lights turned up stays at the sensor's ceiling): a cell's median is of its
        unclipped pixels (the tile joints), unless too few are left to tell.
        """
        h, w = ratio.shape
        c = self._cell
        rows, cols = max(1, h // c), max(1, w // c)
        cells = _cell_medians(_cells(ratio, rows, cols, c), _cells(clipped, rows, cols, c))
        local = cv2.medianBlur(cells, 5) if min(rows, cols) >= 5 else cells
        low = cv2.erode(local, _NEAR3, borderType=cv2.BORDER_REPLICATE)
        high = cv2.dilate(local, _NEAR3, borderType=cv2.BORDER_REPLICATE)
        size = (w, h)
        gain = cv2.resize(local, size, interpolation=cv2.INTER_LINEAR)
        if float((high - low).max()) < _EVEN_GAIN:
            return np.asarray(gain, np.float32)
        low_up = cv2.resize(low, size, interpolation=cv2.INTER_NEAREST)
        high_up = cv2.resize(high, size, interpolation=cv2.INTER_NEAREST)
        seen = _box(ratio, 3)
        # Of the gains around, the lowest or the highest explains this pixel better.
        for option in (low_up, high_up):
            better = np.abs(option - seen) < np.abs(gain - seen)
            gain = np.where(better, option, gain)
        # A clipped pixel's ratio is only a floor: the highest gain of the cells around (a
        # person among them drags theirs down) explains it.
        highest = cv2.dilate(local, _NEAR5, borderType=cv2.BORDER_REPLICATE)
        highest_up = cv2.resize(highest, size, interpolation=cv2.INTER_NEAREST)
        gain = np.where(clipped, np.maximum(gain, highest_up), gain)
        return np.asarray(gain, np.float32)

    def _shadow(
        self,
        image: FloatArray,
        lum: FloatArray,
        raw_lum: FloatArray,
        ref: _Reference,
        var: FloatArray,
        candidate: npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.bool_]:
        """Candidate pixels that are the background in shadow: darker (before or after the
        lighting correction, which may have followed a large shadow), the same chromaticity,
        the same texture."""
        ratio = _box(lum / ref.lum, 3)
        raw_ratio = _box(raw_lum / ref.lum, 3)
        low, high = self._shadow_ratio
        darker = candidate & (
            ((ratio > low) & (ratio < high)) | ((raw_ratio > low) & (raw_ratio < high))
        )
        if not darker.any():
            return darker
        hue = np.asarray(cv2.absdiff(image / lum[..., None], ref.chroma), np.float32)
        chroma = _box(_channel_sum(hue), 3)
        same_hue = darker & (chroma < self._shadow_chroma)
        # Texture: in a shadow the image's gradients are the background's, scaled down (plus
        # the shadow's soft outline); over a person they have nothing to do with the floor's.
        # Where the background is too flat to tell, colour has to do.
        fx, fy = _gradients(lum)
        w = _TEXTURE_WINDOW
        agree = _box(fx * ref.gx + fy * ref.gy, w)
        own = _box(fx * fx + fy * fy, w)
        floor = ref.texture
        flat = floor < _FLAT * var
        kept = agree > self._shadow_texture * np.sqrt(np.maximum(own * floor, 0.0))
        # Softness: a shadow's darkening changes gently (its edge is a penumbra); a body has
        # sharp outlines and folds. Curvature of the ratio tells a ramp from an edge.
        curve = np.abs(cv2.Laplacian(_box(ratio, 3), cv2.CV_32F, ksize=3))
        soft = curve < self._shadow_spread + 2.0 * np.sqrt(var) / ref.lum
        shadow = (same_hue & (flat | kept) & soft).astype(np.uint8)
        # A shadow fails the texture test in patches (dark, so noisy) and the softness test
        # along a crisp outline; closed over those gaps, within what is darker and the same
        # hue, so that what is left is not an outline that cleaning fills back in.
        closed = cv2.morphologyEx(shadow, cv2.MORPH_CLOSE, _GAP_KERNEL)
        return np.asarray(closed.astype(bool) & same_hue)


@dataclass(frozen=True, slots=True)
class _Reference:
    """What the shadow test needs of the background, refreshed every few frames."""

    lum: FloatArray  # sum of the channels, plus 3
    chroma: FloatArray  # each channel over `lum`
    gx: FloatArray  # gradient of `lum`
    gy: FloatArray
    texture: FloatArray  # squared gradient magnitude summed over the texture window

    @classmethod
    def of(cls, mean: FloatArray) -> _Reference:
        lum = _channel_sum(mean) + np.float32(3.0)
        gx, gy = _gradients(lum)
        texture = _box(gx * gx + gy * gy, _TEXTURE_WINDOW)
        return cls(lum, np.asarray(mean / lum[..., None], np.float32), gx, gy, texture)


def _cells(image: npt.NDArray[Any], rows: int, cols: int, c: int) -> npt.NDArray[Any]:
    """The image's pixels cell by cell: rows x cols x (c * c)."""
    tiles = image[: rows * c, : cols * c].reshape(rows, c, cols, c).transpose(0, 2, 1, 3)
    return tiles.reshape(rows, cols, c * c)


def _cell_medians(ratios: FloatArray, clipped: npt.NDArray[np.bool_]) -> FloatArray:
    """Each cell's median ratio, of its unclipped pixels where enough are left. A cell
    (nearly) all clipped only has a lower bound: it takes the median of the cells around
    that have a ratio of their own, if that is higher."""
    ranked = np.sort(ratios, axis=2)
    n = ranked.shape[2]
    medians = (ranked[..., (n - 1) // 2] + ranked[..., n // 2]) / 2
    if not clipped.any():
        return np.asarray(medians, np.float32)
    unclipped = n - clipped.sum(axis=2)
    ranked = np.sort(np.where(clipped, np.inf, ratios), axis=2)
    middle = np.take_along_axis(ranked, ((np.maximum(unclipped, 1) - 1) // 2)[..., None], 2)
    known = unclipped >= n // _CLIPPED_FEW
    medians = np.where(known, middle[..., 0], medians)
    around = _median_of_known_around(np.asarray(medians, np.float32), known)
    return np.asarray(np.where(known, medians, np.fmax(medians, around)), np.float32)


def _median_of_known_around(values: FloatArray, known: npt.NDArray[np.bool_]) -> FloatArray:
    """The median of the known values among the 5x5 around each cell (NaN if none)."""
    padded = np.pad(np.where(known, values, np.inf), 2, constant_values=np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (5, 5)).reshape(*values.shape, 25)
    count = np.sum(np.isfinite(windows), axis=2)
    ranked = np.sort(windows, axis=2)
    middle = np.take_along_axis(ranked, ((np.maximum(count, 1) - 1) // 2)[..., None], 2)
    return np.where(count > 0, middle[..., 0], np.nan)


def _channel_sum(image: FloatArray) -> FloatArray:
    return np.asarray(cv2.transform(image, _ONES), np.float32).reshape(image.shape[:2])


def _box(image: FloatArray, size: int) -> FloatArray:
    return np.asarray(cv2.boxFilter(image, -1, (size, size)), np.float32)


def _gradients(image: FloatArray) -> tuple[FloatArray, FloatArray]:
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3)
    return np.asarray(gx, np.float32), np.asarray(gy, np.float32)


class _OpenCvSubtractor:
    def __init__(self, subtractor: cv2.BackgroundSubtractor) -> None:
        self._subtractor = subtractor

    def apply(self, frame: Image, freeze: Mask | None = None) -> Mask:
        raw = self._subtractor.apply(frame)
        # 255 is foreground, 127 a detected shadow: keep only the foreground.
        return np.asarray(np.where(raw == 255, 255, 0), np.uint8)


def Mog2(fps: float, history_s: float = 30.0, var_threshold: float = 16.0) -> _OpenCvSubtractor:
    return _OpenCvSubtractor(
        cv2.createBackgroundSubtractorMOG2(round(fps * history_s), var_threshold, True)
    )


def Knn(fps: float, history_s: float = 30.0, dist2_threshold: float = 400.0) -> _OpenCvSubtractor:
    return _OpenCvSubtractor(
        cv2.createBackgroundSubtractorKNN(round(fps * history_s), dist2_threshold, True)
    )


def make_background(kind: BackgroundKind, fps: float) -> BackgroundModel:
    """The background model named by the `background` setting."""
    if kind == "average":
        return RunningAverage(fps)
    if kind == "mog2":
        return Mog2(fps)
    if kind == "knn":
        return Knn(fps)
    raise ValueError(f"background must be 'average', 'mog2' or 'knn', got {kind!r}")
