"""The door agent's section of the device config, decoded once and checked, with errors
that name the key; and the settings it gives the counter and the video source.

    source = "rtsp://10.0.0.5/stream1"   # or 0 (camera index) or "/data/door.mp4"
    line = [[120, 260], [520, 250]]     # two points, full-frame pixels
    in_side = "right"                   # seen from the first point towards the second
    band = 30                           # hysteresis half-width, pixels
    person_area = 4000                  # one person's blob at the line (walk test)
    door = "main"
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from edge.door.counter import CounterSettings
from edge.door.sources import SourceSettings

Positive = Annotated[float, msgspec.Meta(gt=0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
Ratio = Annotated[float, msgspec.Meta(gt=0, le=100)]
Pixel = tuple[float, float]
DoorName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]

# Keys whose change needs the video source reopened (anything else applies between frames).
SOURCE_KEYS = ("source", "fps", "max_fps", "realtime", "start_time", "reconnect_max_s")


class DoorConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    line: tuple[Pixel, Pixel]
    source: str | int = 0
    in_side: Literal["left", "right"] = "right"
    band: NonNegative = 30.0
    person_area: Positive = 3000.0
    person_aspect: Ratio = 1.0
    perspective: Annotated[float, msgspec.Meta(gt=0, le=1000)] = 1.0
    radial_growth: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0
    radial_from: NonNegative = 0.0
    field_of_view: Annotated[float, msgspec.Meta(ge=0, lt=180)] = 0.0
    min_area_ratio: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.35
    split_ratio: Annotated[float, msgspec.Meta(gt=1, le=10)] = 1.9
    anchor: Literal["centroid", "bottom"] = "centroid"
    zone: Positive | None = None
    downscale: Annotated[int, msgspec.Meta(ge=1, le=8)] = 2
    background: Literal["average", "mog2", "knn"] = "average"
    coast_s: Annotated[float, msgspec.Meta(ge=0, le=10)] = 0.8
    door: DoorName | None = None
    fps: Annotated[float, msgspec.Meta(gt=0, le=240)] | None = None
    max_fps: Annotated[float, msgspec.Meta(gt=0, le=240)] | None = None
    realtime: bool = False
    start_time: Annotated[int, msgspec.Meta(ge=0)] | datetime | None = None
    reconnect_max_s: Annotated[float, msgspec.Meta(ge=0.5, le=3600)] = 30.0
    annotate_path: str | None = None  # write an annotated video here (MJPG .avi)
    snapshot_path: str | None = None  # keep an annotated still image here (.jpg, .png)
    snapshot_every_s: Positive = 5.0

    def __post_init__(self) -> None:
        (x1, y1), (x2, y2) = self.line
        if math.hypot(x2 - x1, y2 - y1) < 1.0:
            raise ValueError("field `line`: the two points must be at least 1 pixel apart")
        if isinstance(self.start_time, datetime) and self.start_time.tzinfo is None:
            raise ValueError("field `start_time`: give a UTC offset, e.g. 2026-11-26T10:00:00Z")
        if isinstance(self.source, int) and self.source < 0:
            raise ValueError("field `source`: a camera index is 0 or more")
        if isinstance(self.source, str) and not self.source.strip():
            raise ValueError("field `source`: give a camera index, a file path or a URL")

    def counter_settings(self) -> CounterSettings:
        return CounterSettings(
            line=self.line,
            in_side=self.in_side,
            band=self.band,
            person_area=self.person_area,
            person_aspect=self.person_aspect,
            perspective=self.perspective,
            radial_growth=self.radial_growth,
            radial_from=self.radial_from,
            field_of_view=self.field_of_view,
            min_area_ratio=self.min_area_ratio,
            split_ratio=self.split_ratio,
            anchor=self.anchor,
            downscale=self.downscale,
            background=self.background,
            coast_s=self.coast_s,
            zone=self.zone,
        )

    def source_settings(self) -> SourceSettings:
        start_ms = None
        if isinstance(self.start_time, datetime):
            start_ms = int(self.start_time.timestamp() * 1000)
        elif self.start_time is not None:
            start_ms = self.start_time
        return SourceSettings(
            source=self.source,
            fps=self.fps,
            max_fps=self.max_fps,
            realtime=self.realtime,
            start_ms=start_ms,
            reconnect_max_s=self.reconnect_max_s,
        )


def parse_config(section: Mapping[str, Any]) -> DoorConfig:
    """The agent's config section as a `DoorConfig`; ValueError naming the bad key."""
    try:
        return msgspec.convert(dict(section), DoorConfig)
    except msgspec.ValidationError as exc:
        raise ValueError(f"door config: {_describe(str(exc))}") from None


def changed_keys(old: DoorConfig, new: DoorConfig) -> set[str]:
    return {name for name in old.__struct_fields__ if getattr(old, name) != getattr(new, name)}


_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$\.?(?P<path>[^`]*)`)?$", re.DOTALL)


def _describe(error: str) -> str:
    """msgspec's "Expected `float`, got `str` - at `$.band`" as "field `band`: expected …"."""
    match = _AT.match(error)
    assert match is not None  # the pattern matches any string
    what, path = match.group("what"), match.group("path")
    missing = re.match(r"^Object missing required field `(?P<key>[^`]+)`$", what)
    if missing:
        return f"field `{missing.group('key')}` is required"
    unknown = re.match(r"^Object contains unknown field `(?P<key>[^`]+)`$", what)
    if unknown:
        return f"unknown field `{unknown.group('key')}`"
    if not path:
        return what
    key = path.split("[", 1)[0].split(".", 1)[0]
    return f"field `{key}`: {what[:1].lower()}{what[1:]}"
