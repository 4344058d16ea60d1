"""People (and dogs) who walk through the synthetic doorway: how they look and move.

An actor follows a route of legs (walk to a point, or stand still for a while) from its
start time; `pose_at` says where it is, which way it faces and how far through its stride,
and `discs_at` turns that into the body slices that `door_video_scene` paints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from simulators.door_video_scene import Disc, Part

BGR = tuple[float, float, float]

CLOTHES: tuple[BGR, ...] = (
    (40, 30, 25),  # black
    (90, 50, 30),  # navy
    (150, 110, 70),  # denim
    (225, 225, 225),  # white
    (40, 40, 170),  # red
    (60, 110, 60),  # green
    (120, 160, 185),  # beige
    (110, 110, 110),  # grey
    (60, 90, 120),  # brown
    (170, 100, 150),  # purple
    (70, 160, 200),  # mustard
    (200, 170, 120),  # light blue
)
HAIR: tuple[BGR, ...] = (
    (20, 20, 25),
    (30, 40, 60),
    (50, 75, 110),
    (110, 170, 200),
    (150, 150, 150),
)
SKIN: tuple[BGR, ...] = ((150, 175, 220), (110, 140, 190), (70, 95, 140), (45, 60, 95))


@dataclass(frozen=True, slots=True)
class Walk:
    to: tuple[float, float]
    speed: float  # m/s


@dataclass(frozen=True, slots=True)
class Stand:
    seconds: float
    turn: float = 0.0  # radians the actor turns while standing (looking around)


Leg = Walk | Stand


@dataclass(frozen=True, slots=True, kw_only=True)
class Build:
    kind: Literal["person", "dog"] = "person"
    height: float = 1.72
    half_width: float = 0.23  # shoulders, half
    half_depth: float = 0.13
    top: BGR = (110, 110, 110)
    bottom: BGR = (60, 50, 40)
    hair: BGR = (20, 20, 25)
    skin: BGR = (110, 140, 190)
    bag: BGR | None = None
    stride_hz: float = 1.9


@dataclass(frozen=True, slots=True)
class Pose:
    x: float
    y: float
    heading: float  # radians, direction faced, in the floor plane
    phase: float  # stride phase, radians
    moving: bool


@dataclass(slots=True)
class Actor:
    build: Build
    start: tuple[float, float]
    legs: list[Leg]
    t0: float  # clip seconds when the actor appears at `start`
    _times: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        t, (x, y) = self.t0, self.start
        self._times = [t]
        for leg in self.legs:
            if isinstance(leg, Walk):
                t += math.dist((x, y), leg.to) / leg.speed
                x, y = leg.to
            else:
                t += leg.seconds
            self._times.append(t)

    @property
    def t_end(self) -> float:
        return self._times[-1]

    def pose_at(self, t: float) -> Pose | None:
        """Where the actor is at clip time `t`, or None before it starts or after it ends."""
        if t < self.t0 or t > self.t_end:
            return None
        x, y = self.start
        heading = _heading_of(self.start, self.legs)
        for i, leg in enumerate(self.legs):
            begin, end = self._times[i], self._times[i + 1]
            if isinstance(leg, Walk):
                heading = math.atan2(leg.to[1] - y, leg.to[0] - x) if leg.to != (x, y) else heading
                if t <= end:
                    frac = (t - begin) / max(end - begin, 1e-9)
                    px, py = x + (leg.to[0] - x) * frac, y + (leg.to[1] - y) * frac
                    phase = 2 * math.pi * self.build.stride_hz * (t - self.t0)
                    return Pose(px, py, heading, phase, True)
                x, y = leg.to
            else:
                if t <= end:
                    frac = (t - begin) / max(end - begin, 1e-9)
                    return Pose(x, y, heading + leg.turn * math.sin(math.pi * frac), 0.0, False)
        return None

    def parts_at(self, t: float) -> list[Part]:
        """The body parts to paint at clip time `t` (none when the actor is away)."""
        pose = self.pose_at(t)
        if pose is None:
            return []
        if self.build.kind == "dog":
            return _dog(self.build, pose)
        return _person(self.build, pose)


def _heading_of(start: tuple[float, float], legs: list[Leg]) -> float:
    for leg in legs:
        if isinstance(leg, Walk) and leg.to != start:
            return math.atan2(leg.to[1] - start[1], leg.to[0] - start[0])
    return 0.0


def _shade(colour: BGR, factor: float) -> BGR:
    return (colour[0] * factor, colour[1] * factor, colour[2] * factor)


class _Frame:
    """A body's own axes: `at(lateral, forward, z)` is a world point."""

    def __init__(self, x: float, y: float, heading: float) -> None:
        self.x, self.y = x, y
        self.fwd = (math.cos(heading), math.sin(heading))
        self.side = (-self.fwd[1], self.fwd[0])

    def disc(self, lateral: float, forward: float, z: float, along: float, across: float) -> Disc:
        centre = (
            self.x + self.side[0] * lateral + self.fwd[0] * forward,
            self.y + self.side[1] * lateral + self.fwd[1] * forward,
            z,
        )
        return Disc(centre, self.fwd, along, across)


def _person(b: Build, pose: Pose) -> list[Part]:
    swing = math.sin(pose.phase) if pose.moving else 0.0
    sway = 0.025 * math.sin(pose.phase / 2) if pose.moving else 0.0
    body = _Frame(pose.x, pose.y, pose.heading)
    body = _Frame(pose.x + body.side[0] * sway, pose.y + body.side[1] * sway, pose.heading)
    h = b.height / 1.72
    shoulder_z, head_z = 0.82 * b.height, 0.93 * b.height
    parts = []
    for sign in (-1.0, 1.0):
        foot = body.disc(0.1 * sign, 0.22 * swing * sign, 0.05, 0.12, 0.05)
        hip = body.disc(0.09 * sign, 0.0, 0.85 * h, 0.09, 0.08)
        parts.append(Part((foot, hip), _shade(b.bottom, 0.8), casts_shadow=True))
    torso = (
        body.disc(0, 0, 0.92 * h, 0.11, 0.17 * h),
        body.disc(0, 0, 1.15 * h, 0.9 * b.half_depth, 0.88 * b.half_width),
        body.disc(0, 0, shoulder_z, b.half_depth, b.half_width),
    )
    parts.append(Part(torso, b.top, casts_shadow=True))
    for sign in (-1.0, 1.0):
        lateral = (b.half_width - 0.04) * sign
        shoulder = body.disc(lateral, 0.0, shoulder_z - 0.03, 0.05, 0.05)
        hand = body.disc(lateral * 1.08, -0.2 * swing * sign, 0.5 * b.height, 0.045, 0.04)
        parts.append(Part((shoulder, hand), _shade(b.top, 0.85), casts_shadow=True))
    if b.bag is not None:
        bag = (body.disc(-b.half_width - 0.08, 0, z, 0.16, 0.06) for z in (0.5 * h, 0.8 * h))
        parts.append(Part(tuple(bag), b.bag, casts_shadow=True))
    neck = body.disc(0, 0.02, shoulder_z, 0.05, 0.05)
    face = body.disc(0, 0.05, head_z - 0.05, 0.06, 0.07)
    parts.append(Part((neck, face), b.skin))
    hair = (
        body.disc(0, 0.0, head_z - 0.04, 0.1, 0.085),
        body.disc(0, 0.0, head_z + 0.07, 0.07, 0.06),
    )
    parts.append(Part(hair, b.hair, casts_shadow=True))
    return parts


def _dog(b: Build, pose: Pose) -> list[Part]:
    swing = math.sin(pose.phase) if pose.moving else 0.0
    size = b.height  # for a dog: its shoulder height
    body = _Frame(pose.x, pose.y, pose.heading)
    parts = []
    for sign in (-1.0, 1.0):
        for forward in (-0.4 * size, 0.4 * size):
            paw = body.disc(0.07 * sign, forward + 0.15 * swing * sign * size, 0.03, 0.04, 0.03)
            top = body.disc(0.06 * sign, forward, 0.8 * size, 0.05, 0.04)
            parts.append(Part((paw, top), _shade(b.top, 0.8)))
    trunk = (body.disc(0, 0, 0.85 * size, 0.55 * size, 0.2 * size),)
    parts.append(Part((*trunk, body.disc(0, 0, size, 0.5 * size, 0.18 * size)), b.top, True))
    head = (body.disc(0, 0.6 * size, 1.1 * size, 0.16 * size, 0.1 * size),)
    parts.append(Part(head, b.hair, True))
    return parts


def random_person(rng: np.random.Generator, floor: BGR, similar_to_floor: float = 0.15) -> Build:
    """A random adult; with probability `similar_to_floor` dressed nearly like the floor."""
    height = float(np.clip(rng.normal(1.70, 0.09), 1.5, 1.95))
    scale = height / 1.72
    if rng.random() < similar_to_floor:
        top = tuple(float(np.clip(c * rng.uniform(0.85, 1.12), 0, 255)) for c in floor)
    else:
        top = CLOTHES[int(rng.integers(len(CLOTHES)))]
    bag = CLOTHES[int(rng.integers(len(CLOTHES)))] if rng.random() < 0.25 else None
    return Build(
        height=height,
        half_width=float(rng.uniform(0.2, 0.25) * scale),
        half_depth=float(rng.uniform(0.11, 0.14) * scale),
        top=(float(top[0]), float(top[1]), float(top[2])),
        bottom=CLOTHES[int(rng.integers(len(CLOTHES)))],
        hair=HAIR[int(rng.integers(len(HAIR)))],
        skin=SKIN[int(rng.integers(len(SKIN)))],
        bag=bag,
        stride_hz=float(rng.uniform(1.7, 2.1)),
    )


def random_dog(rng: np.random.Generator) -> Build:
    coat = ((30, 30, 30), (60, 90, 130), (200, 200, 200), (40, 70, 110))[int(rng.integers(4))]
    return Build(kind="dog", height=float(rng.uniform(0.3, 0.45)), top=coat, hair=coat)
