"""Draw the web app's icons (api/static/icons/*.png) with no image library: a rounded
square in the brand colour with a white shop-front mark. Run once after changing them:
.venv/bin/python scripts/make_icons.py"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

BRAND = (0x1D, 0x3B, 0x53)
WHITE = (0xFF, 0xFF, 0xFF)
OUT = Path(__file__).resolve().parent.parent / "api" / "static" / "icons"


def draw(size: int, *, maskable: bool) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size].astype(float) + 0.5
    image = np.zeros((size, size, 4), dtype=np.uint8)
    radius = 0 if maskable else size * 0.2  # maskable icons fill the square; launchers crop
    inner = np.clip(np.minimum(np.minimum(x, size - x), np.minimum(y, size - y)), 0, None)
    dx = np.maximum(radius - np.minimum(x, size - x), 0)
    dy = np.maximum(radius - np.minimum(y, size - y), 0)
    inside = (np.hypot(dx, dy) <= radius) & (inner >= 0)
    image[inside] = (*BRAND, 255)
    scale = 0.6 if maskable else 0.75  # keep the mark inside a maskable icon's safe zone
    unit = size * scale
    left, top = (size - unit) / 2, (size - unit) / 2
    u = (x - left) / unit
    v = (y - top) / unit
    awning = (v >= 0.12) & (v < 0.32) & (u >= 0.05) & (u <= 0.95)
    stripes = awning & ((np.floor(u * 6) % 2) == 0)
    front = (v >= 0.38) & (v <= 0.9) & (u >= 0.14) & (u <= 0.86)
    door = (v >= 0.55) & (v <= 0.9) & (u >= 0.42) & (u <= 0.58)
    window = (v >= 0.47) & (v <= 0.66) & (((u >= 0.2) & (u <= 0.36)) | ((u >= 0.64) & (u <= 0.8)))
    mark = stripes | (awning & ~stripes & (v < 0.2)) | (front & ~door & ~window)
    image[mark & inside] = (*WHITE, 255)
    return image


def png(image: np.ndarray) -> bytes:
    height, width, _ = image.shape
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("icon-maskable-512.png", 512, True),
    ):
        (OUT / name).write_bytes(png(draw(size, maskable=maskable)))


if __name__ == "__main__":
    main()
