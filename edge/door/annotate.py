"""Annotated frames for installers: the counting line with its band and "in" arrow, the
blobs, the tracks with their trails, and the running counts. Written to a video file or a
still image (headless: no windows)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge.door.counter import FrameResult
from edge.door.line import CountingLine

Image = npt.NDArray[np.uint8]
_LINE = (0, 255, 255)
_BAND = (0, 160, 160)
_IN = (0, 200, 0)
_OUT = (0, 0, 230)


def draw(frame: Image, line: CountingLine, result: FrameResult, ins: int, outs: int) -> Image:
    """A copy of `frame` with what the counter saw drawn over it."""
    image = frame.copy()
    _draw_line(image, line)
    for d in result.detections:
        x, y, w, h = d.box
        colour = (0, 165, 255) if d.shared else (255, 200, 0)
        cv2.rectangle(image, (x, y), (x + w, y + h), colour, 1)
    scale = result.downscale
    for track in result.tracks:
        points = np.array([(px * scale, py * scale) for px, py in track.trail], np.int32)
        colour = (255, 0, 255) if track.confirmed else (160, 160, 160)
        if len(points) > 1:
            cv2.polylines(image, [points], False, colour, 1, cv2.LINE_AA)
        x, y = (round(v * scale) for v in track.position)
        cv2.circle(image, (x, y), 4, colour, -1, cv2.LINE_AA)
        cv2.putText(image, str(track.id), (x + 5, y - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1)
    for c in result.crossings:
        colour = _IN if c.direction == "in" else _OUT
        cv2.circle(image, (round(c.x), round(c.y)), 14, colour, 2, cv2.LINE_AA)
    text = f"in {ins}  out {outs}"
    cv2.putText(image, text, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(
        image, text, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 1, cv2.LINE_AA
    )
    return image


def _draw_line(image: Image, line: CountingLine) -> None:
    (x1, y1), (x2, y2) = line.p1, line.p2
    length = line.length
    # Unit normal pointing to the "in" side.
    nx, ny = -(y2 - y1) / length, (x2 - x1) / length
    if line.in_side == "left":
        nx, ny = -nx, -ny
    for offset in (-line.band, line.band):
        a = (round(x1 + nx * offset), round(y1 + ny * offset))
        b = (round(x2 + nx * offset), round(y2 + ny * offset))
        cv2.line(image, a, b, _BAND, 1, cv2.LINE_AA)
    cv2.line(image, (round(x1), round(y1)), (round(x2), round(y2)), _LINE, 2, cv2.LINE_AA)
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    reach = max(line.band, 20.0) * 1.5
    tip = (round(mx + nx * reach), round(my + ny * reach))
    cv2.arrowedLine(image, (round(mx), round(my)), tip, _IN, 2, cv2.LINE_AA, tipLength=0.3)
    cv2.putText(image, "IN", (tip[0] + 4, tip[1] + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.6, _IN, 2)


class AnnotatedVideo:
    """Writes annotated frames to a video file (MJPG, so any OpenCV build can write it)."""

    def __init__(self, path: Path, fourcc: str = "MJPG") -> None:
        self.path = path
        self._fourcc = fourcc
        self._writer: cv2.VideoWriter | None = None

    def write(self, image: Image, fps: float) -> None:
        """Append a frame; the first one fixes the size and the frame rate."""
        if self._writer is None:
            h, w = image.shape[:2]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            code = cv2.VideoWriter.fourcc(*self._fourcc)
            self._writer = cv2.VideoWriter(str(self.path), code, fps, (w, h))
            if not self._writer.isOpened():
                raise OSError(f"cannot write the annotated video {self.path} ({self._fourcc})")
        self._writer.write(image)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


def write_still(path: Path, image: Image) -> None:
    """Replace the still image at `path` (written to a temporary name, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp{path.suffix}")
    if not cv2.imwrite(str(temporary), image):
        raise OSError(f"cannot write the still image {path}")
    temporary.replace(path)
