"""The installer's walk test: measure one person's blob from a clip in which people walk
through the door one at a time, so that the counter can tell one person from two.

    settings = calibrated(settings, frames, fps)
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from edge.door.counter import CounterSettings, DoorCounter
from edge.door.errors import CalibrationError


@dataclass(frozen=True, slots=True)
class PersonMeasure:
    area: float  # median blob area near the line, full-frame pixels
    aspect: float  # median spread along the walk over across it
    samples: int  # frames measured


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
    tuned = replace(settings, person_area=first.area, person_aspect=first.aspect)
    second = _measure(clip, tuned, fps)
    return second if second.samples >= min_samples else first


def calibrated(
    settings: CounterSettings, frames: Iterable[npt.NDArray[np.uint8]], fps: float
) -> CounterSettings:
    """`settings` with one person's area and aspect measured by a walk test."""
    person = measure_person(frames, settings, fps)
    return replace(settings, person_area=person.area, person_aspect=person.aspect)


def _measure(
    frames: list[npt.NDArray[np.uint8]], settings: CounterSettings, fps: float
) -> PersonMeasure:
    counter = DoorCounter(settings, fps)
    line = counter.line
    areas, across, along = [], [], []
    for frame in frames:
        result = counter.process(frame)
        near = [
            d
            for d in result.detections
            if abs(line.signed_distance((d.x, d.y))) <= 2 * max(line.band, 1.0)
        ]
        confirmed = [t for t in result.tracks if t.confirmed and t.observed]
        if len(result.detections) == 1 and len(near) == 1 and len(confirmed) == 1:
            areas.append(near[0].area)
            across.append(near[0].spread[0])
            along.append(near[0].spread[1])
    if not areas:
        return PersonMeasure(settings.person_area, settings.person_aspect, 0)
    aspect = statistics.median(along) / max(statistics.median(across), 1e-6)
    return PersonMeasure(statistics.median(areas), aspect, len(areas))
