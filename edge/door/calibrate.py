"""The installer's walk test: measure one person's blob from a clip in which people walk
through the door one at a time, so that the counter can tell one person from two.

Seen from straight above (`perspective` 1), a person's blob grows away from the image's
centre as more of their side comes into view; the walk test measures that growth too
(`radial_growth`), from how the lone walker's area changes with their distance from it.

    settings = calibrated(settings, frames, fps)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from edge.door.blobs import Detection, focal_length, off_axis_gain
from edge.door.counter import CounterSettings, DoorCounter
from edge.door.errors import CalibrationError

_MIN_WALK = 0.5  # body widths (roughly) per second: slower is not someone walking through
_MAX_RADIAL = 0.05  # per pixel: a blob 6x as big 100 pixels out is not a person's side


@dataclass(frozen=True, slots=True)
class PersonMeasure:
    area: float  # median blob area near the line, full-frame pixels
    aspect: float  # median spread along the walk over across it
    samples: int  # frames measured
    radial_growth: float = 0.0  # overhead: area growth per pixel beyond `radial_from`
    radial_from: float = 0.0  # pixels from the image's centre


def measure_person(
    frames: Iterable[npt.NDArray[np.uint8]],
    settings: CounterSettings,
    fps: float,
    *,
    min_samples: int = 8,
) -> PersonMeasure:
    """Median blob of a lone walker near the line (within two bands), over the clip.

    Frames are kept in memory: the clip is measured twice, the second time with the first
    measure, since what counts as a blob depends on the size expected.
    """
    clip = list(frames)
    first = _measure(clip, settings, fps)
    if first.samples < min_samples:
        raise CalibrationError(
            f"walk test: a lone person was seen near the line in {first.samples} frames; "
            f"need {min_samples}. Walk through the door, one person at a time, and check "
            "the line and the band on the annotated video"
        )
    tuned = _apply(settings, first)
    second = _measure(clip, tuned, fps)
    return second if second.samples >= min_samples else first


def calibrated(
    settings: CounterSettings, frames: Iterable[npt.NDArray[np.uint8]], fps: float
) -> CounterSettings:
    """`settings` with one person's area, aspect and (overhead) growth measured by a walk
    test."""
    return _apply(settings, measure_person(frames, settings, fps))


def _apply(settings: CounterSettings, person: PersonMeasure) -> CounterSettings:
    return replace(
        settings,
        person_area=person.area,
        person_aspect=person.aspect,
        radial_growth=person.radial_growth,
        radial_from=person.radial_from,
    )


def _measure(
    frames: list[npt.NDArray[np.uint8]], settings: CounterSettings, fps: float
) -> PersonMeasure:
    counter = DoorCounter(settings, fps)
    line = counter.line
    near_line: list[Detection] = []
    alone: list[Detection] = []  # anywhere in the counting zone, wholly in view
    min_speed = _MIN_WALK * math.sqrt(settings.person_area)  # full-frame pixels per second
    for frame in frames:
        result = counter.process(frame)
        confirmed = [t for t in result.tracks if t.confirmed and t.observed]
        if len(result.detections) != 1 or len(confirmed) != 1 or counter.frame_size is None:
            continue
        detection = result.detections[0]
        # A walker: not something standing still (a ghost where someone stood while the
        # background was learnt); for the growth, wholly in view (not cut by the edge).
        if confirmed[0].speed * settings.downscale * fps < min_speed:
            continue
        if not _touches_edge(detection.box, *counter.frame_size):
            alone.append(detection)
        if abs(line.signed_distance((detection.x, detection.y))) <= 2 * max(line.band, 1.0):
            near_line.append(detection)
    if not near_line:
        return PersonMeasure(settings.person_area, settings.person_aspect, 0)
    assert counter.frame_size is not None  # it saw frames, or `near_line` would be empty
    width, height = counter.frame_size
    centre = (width / 2, height / 2)
    focal = focal_length(settings.field_of_view, width)

    def at_middle(d: Detection) -> Detection:
        """The sighting as it would look at the line's middle: nearer the image's edge,
        through a wide lens, one looks bigger."""
        gain = off_axis_gain((d.x, d.y), line.middle, centre, focal)
        k = math.sqrt(gain)
        return replace(d, area=d.area / gain, spread=(d.spread[0] / k, d.spread[1] / k))

    near_line = [at_middle(d) for d in near_line]
    area = statistics.median(d.area for d in near_line)
    across = statistics.median(d.spread[0] for d in near_line)
    along = statistics.median(d.spread[1] for d in near_line)
    aspect = along / max(across, 1e-6)
    if settings.perspective != 1.0:
        return PersonMeasure(area, aspect, len(near_line))
    alone = [at_middle(d) for d in alone]
    start = statistics.median(math.dist((d.x, d.y), centre) for d in near_line)
    growth = radial_growth(alone, centre, start, area)
    return PersonMeasure(area, aspect, len(near_line), growth, start)


def radial_growth(
    detections: Sequence[Detection],
    centre: tuple[float, float],
    start: float,
    area: float,
    *,
    min_samples: int = 6,
) -> float:
    """How fast a lone person's blob (of `area` up to `start` pixels from `centre`) grows
    further out: from the median area and distance of the outer half of the detections
    beyond `start` (medians: a frame where they merged with their shadow does not count).
    0 if too few were seen out there, or they did not grow."""
    beyond = sorted((r, d.area) for d in detections if (r := math.dist((d.x, d.y), centre)) > start)
    outer = beyond[len(beyond) // 2 :]
    if len(outer) < min_samples:
        return 0.0
    reach = statistics.median(r for r, _ in outer) - start
    grown = statistics.median(a for _, a in outer) / area - 1.0
    if reach < 1.0 or grown <= 0:
        return 0.0
    return min(grown / reach, _MAX_RADIAL)


def _touches_edge(box: tuple[int, int, int, int], width: int, height: int) -> bool:
    x, y, w, h = box
    return x <= 1 or y <= 1 or x + w >= width - 1 or y + h >= height - 1
