"""Synthetic door-counter videos with known ground truth, deterministic for a seed.

A clip is a doorway seen by an overhead or an angled camera (640x480 by default): textured
floor and street, ceiling lights with soft shadows, slow lighting drift, clouds outside,
auto-exposure, sensor noise and JPEG compression, and people of varied build and clothing
(some dressed like the floor) who walk in, out, abreast, in groups, pause in the doorway,
turn back, pass by outside, or a dog that trots through.

    .venv/bin/python -m simulators.door_video --out /tmp/door [--count 3] [--fps 15]

writes one `.avi` (MJPG) and one `.json` (truth and the installer's settings) per clip.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import msgspec
import numpy as np
import numpy.typing as npt

from edge.door.blobs import off_axis_gain
from simulators.door_video_actors import BGR, Actor, Build, Walk
from simulators.door_video_camera import Camera, angled, overhead
from simulators.door_video_scenarios import PLANNERS, SCENARIOS, Layout
from simulators.door_video_scene import (
    Frame,
    Look,
    Noise,
    finish,
    paint_bodies,
    paint_floor,
    paint_shadows,
)

View = Literal["overhead", "angled"]
TRUTH_MARGIN_M = 0.5  # a crossing goes from beyond -0.5 m to beyond +0.5 m, or back
_FLOORS = (
    (175, 180, 185),  # light grey tiles
    (120, 150, 175),  # beige stone
    (60, 85, 115),  # wood
    (95, 95, 95),  # concrete
    (205, 205, 200),  # white marble
)


class Crossing(msgspec.Struct, frozen=True):
    frame: int  # the frame in which the person's feet passed the threshold
    direction: Literal["in", "out"]


class ClipTruth(msgspec.Struct):
    ins: int
    outs: int
    crossings: list[Crossing]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClipSpec:
    scenario: str
    seed: int
    view: View = "overhead"
    width: int = 640
    fps: float = 15.0

    @property
    def name(self) -> str:
        return f"{self.scenario}-{self.view}-{self.seed}"


class Lighting:
    """Indoor light drift (and a switch in the `lights` scenario), clouds outside, and the
    camera's auto-exposure chasing a constant mean brightness."""

    def __init__(self, rng: np.random.Generator, duration: float, step: bool) -> None:
        self._period = float(rng.uniform(15, 40))
        self._phase = float(rng.uniform(0, 2 * math.pi))
        self._drift = float(rng.uniform(0.02, 0.06))
        # Clouds outside: a new brightness every 3-8 s, eased in (sun behind a cloud edge).
        knots = np.cumsum(rng.uniform(3.0, 8.0, size=int(duration / 3) + 3)) - 4.0
        self._cloud_t = knots
        self._cloud = 1.0 + float(rng.uniform(0.05, 0.25)) * rng.uniform(-1, 1, len(knots))
        self._step_at = float(rng.uniform(0.25, 0.6)) * duration if step else math.inf
        self._step = float(rng.choice([0.65, 0.8, 1.25, 1.45]))
        self._exposure = 1.0
        self._target: float | None = None

    def gains(self, t: float) -> tuple[float, float]:
        """(indoor, street) illumination at clip time t, before exposure."""
        indoor = 1.0 + self._drift * math.sin(2 * math.pi * t / self._period + self._phase)
        ramp = min(max((t - self._step_at) / 0.3, 0.0), 1.0)
        indoor *= 1.0 + (self._step - 1.0) * ramp
        k = int(np.clip(np.searchsorted(self._cloud_t, t), 1, len(self._cloud_t) - 1))
        t0, t1 = self._cloud_t[k - 1], self._cloud_t[k]
        ease = 0.5 - 0.5 * math.cos(math.pi * min(max((t - t0) / (t1 - t0), 0.0), 1.0))
        street = float(self._cloud[k - 1] + (self._cloud[k] - self._cloud[k - 1]) * ease)
        return indoor, street

    def expose(self, mean_brightness: float, dt: float) -> float:
        """The exposure to apply now, given the scene's mean brightness (lags ~0.8 s)."""
        if self._target is None:
            self._target = mean_brightness
        wanted = float(np.clip(self._target / max(mean_brightness, 1.0), 0.7, 1.4))
        self._exposure += (wanted - self._exposure) * (1 - math.exp(-dt / 0.8))
        return self._exposure


class DoorClip:
    """One synthetic clip: iterate `frames()`; `truth` is what really happened."""

    def __init__(self, spec: ClipSpec) -> None:
        if spec.scenario not in PLANNERS:
            raise ValueError(f"unknown scenario {spec.scenario!r}; one of {', '.join(SCENARIOS)}")
        self.spec = spec
        # The scene (camera, floor, lights) depends on the seed alone, so that a walk test
        # (`walk_test`) shows the same doorway as the clip it calibrates for.
        rng = np.random.default_rng([spec.seed, 0xD00])
        self.camera = _camera(rng, spec)
        self.look = _look(rng, self.camera)
        layout = Layout(
            door_half_width=self.look.door_half_width,
            street_y=-9.0 if spec.view == "angled" else -4.8,
            shop_y=self.camera.position[1] + 3.5 if spec.view == "angled" else 4.8,
            floor_bgr=self.look.floor_bgr,
            keep_right=bool(rng.random() < 0.5),
        )
        self._seed = int(rng.integers(2**31))
        plan_rng = np.random.default_rng([spec.seed, sorted(PLANNERS).index(spec.scenario)])
        self.actors: list[Actor] = PLANNERS[spec.scenario](plan_rng, layout, 0.3)
        self.duration = max(a.t_end for a in self.actors) + 0.5
        self.frame_count = int(self.duration * spec.fps)
        self._lighting = Lighting(rng, self.duration, spec.scenario == "lights")
        self.truth = _truth(self.actors, spec.fps, self.frame_count)

    def walk_test(self) -> DoorClip:
        """The same doorway with an installer's walk test: one adult walking in and out."""
        return DoorClip(
            ClipSpec(
                scenario="walk_test",
                seed=self.spec.seed,
                view=self.spec.view,
                width=self.spec.width,
                fps=self.spec.fps,
            )
        )

    def frames(self) -> Iterator[Frame]:
        """Every frame, rendered on the fly (BGR, uint8)."""
        albedo, street = paint_floor(self.camera, self.look, self._seed)
        rng = np.random.default_rng(self._seed + 1)
        h, w, c = albedo.shape
        noise = Noise((h, w, c), self.look.noise_sigma, rng)
        dt = 1.0 / self.spec.fps
        for index in range(self.frame_count):
            t = index * dt
            parts = [p for actor in self.actors for p in actor.parts_at(t)]
            image = albedo.copy()
            shadow = paint_shadows(self.camera, self.look, parts)
            if shadow is not None:
                image *= (1.0 - shadow)[..., None]
            paint_bodies(image, self.camera, parts)
            indoor, outdoor = self._lighting.gains(t)
            gain = indoor + (outdoor - indoor) * street
            mean = float(image[::16, ::16].mean() * gain[::16, ::16].mean())
            gain *= self._lighting.expose(mean, dt)
            yield finish(image, gain, self.look, noise)


def _camera(rng: np.random.Generator, spec: ClipSpec) -> Camera:
    if spec.view == "overhead":
        yaw = float(rng.choice([0.0, 0.5 * math.pi, math.pi, -0.5 * math.pi]))
        yaw += float(rng.uniform(-0.3, 0.3))
        return overhead(
            float(rng.uniform(2.8, 4.0)), yaw, float(rng.uniform(-0.4, 0.4)), spec.width
        )
    return angled(
        float(rng.uniform(2.4, 3.0)),
        float(rng.uniform(1.0, 2.0)),
        float(rng.uniform(0.55, 0.8)),
        float(rng.uniform(-0.25, 0.25)),
        spec.width,
    )


def _look(rng: np.random.Generator, camera: Camera) -> Look:
    floor = _FLOORS[int(rng.integers(len(_FLOORS)))]
    mat = _grey(float(rng.uniform(30, 70))) if rng.random() < 0.5 else None
    lights = tuple(
        (float(rng.uniform(-1.5, 1.5)), float(rng.uniform(0.3, 2.5)), camera.position[2] + 0.2)
        for _ in range(int(rng.integers(1, 3)))
    )
    return Look(
        floor_bgr=(float(floor[0]), float(floor[1]), float(floor[2])),
        floor_contrast=float(rng.uniform(0.02, 0.08)),
        tile_m=float(rng.choice([0.3, 0.45, 0.6])),
        grout_bgr=_grey(floor[0] * 0.75, floor[1] * 0.75, floor[2] * 0.75),
        mat_bgr=mat,
        street_bgr=_grey(float(rng.uniform(110, 150))),
        wall_bgr=_grey(float(rng.uniform(60, 200))),
        door_half_width=float(rng.uniform(0.9, 1.5)),
        lights=lights,
        light_size=float(rng.uniform(0.05, 0.35)),
        shadow_strength=float(rng.uniform(0.25, 0.6)),
        noise_sigma=float(rng.uniform(1.0, 4.0)),
        jpeg_quality=int(rng.integers(55, 95)),
    )


def _grey(b: float, g: float | None = None, r: float | None = None) -> BGR:
    return (float(b), float(b if g is None else g), float(b if r is None else r))


def _truth(actors: list[Actor], fps: float, frame_count: int) -> ClipTruth:
    crossings: list[Crossing] = []
    for actor in actors:
        if actor.build.kind != "person":
            continue
        side, last_zero, prev_y = 0, 0, None
        for index in range(frame_count):
            pose = actor.pose_at(index / fps)
            if pose is None:
                continue
            if prev_y is not None and (prev_y < 0) != (pose.y < 0):
                last_zero = index
            prev_y = pose.y
            now = 1 if pose.y > TRUTH_MARGIN_M else -1 if pose.y < -TRUTH_MARGIN_M else 0
            if now and side and now != side:
                crossings.append(Crossing(last_zero, "in" if now > 0 else "out"))
            side = now or side
    crossings.sort(key=lambda c: c.frame)
    ins = sum(1 for c in crossings if c.direction == "in")
    return ClipTruth(ins=ins, outs=len(crossings) - ins, crossings=crossings)


def varied_set(per_scenario: int = 3, base_seed: int = 1000, width: int = 640) -> list[ClipSpec]:
    """Every scenario with `per_scenario` seeds; a third of them seen from an angle, and
    frame rates from 10 to 25 frames/s."""
    rates = (10.0, 12.0, 15.0, 20.0, 25.0)
    specs = []
    for i, scenario in enumerate(SCENARIOS):
        for k in range(per_scenario):
            n = i * per_scenario + k
            view: View = "angled" if n % 3 == 2 else "overhead"
            specs.append(
                ClipSpec(
                    scenario=scenario,
                    seed=base_seed + n,
                    view=view,
                    width=width,
                    fps=rates[n % len(rates)],
                )
            )
    return specs


def write_video(clip: DoorClip, path: Path, fourcc: str = "MJPG") -> None:
    """Write the clip as a video file (MJPG in .avi is always available in OpenCV)."""
    size = (clip.camera.width, clip.camera.height)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), clip.spec.fps, size)
    if not writer.isOpened():
        raise OSError(f"cannot write {path} with codec {fourcc}")
    try:
        for frame in clip.frames():
            writer.write(frame)
    finally:
        writer.release()


def person_mask(clip: DoorClip, x: float, y: float) -> npt.NDArray[np.uint8]:
    """Where a typical adult walking across the threshold at (x, y) appears in the image
    (255 inside), in mid-stride."""

    white = (255.0, 255.0, 255.0)
    build = Build(top=white, bottom=white, hair=white, skin=white)
    figure = Actor(build, (x - 0.01, y), [Walk((x + 0.01, y), 0.01)], 0.0)
    stride = 0.25 / figure.build.stride_hz  # a quarter stride in: legs and arms apart
    canvas = np.zeros((clip.camera.height, clip.camera.width, 3), np.float32)
    paint_bodies(canvas, clip.camera, figure.parts_at(stride))
    return (canvas[..., 2] > 60).astype(np.uint8) * 255


def _touches_edge(mask: npt.NDArray[np.uint8]) -> bool:
    return bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


def installer_settings(clip: DoorClip) -> dict[str, Any]:
    """The counter settings an installer would pick for this camera: the counting line
    through where people's bodies are when they stand on the threshold, the shop side,
    a band of +-0.3 m, and the area of one person at the line (and at the far end)."""

    def centroid(x: float, y: float) -> tuple[float, float, float]:
        mask = person_mask(clip, x, y)
        m = cv2.moments(mask, binaryImage=True)
        return m["m10"] / m["m00"], m["m01"] / m["m00"], m["m00"]

    half = clip.look.door_half_width
    left, right = centroid(-half, 0.0), centroid(half, 0.0)
    inside, outside = centroid(0.0, 0.3), centroid(0.0, -0.3)
    here = centroid(0.0, 0.0)
    dx, dy = right[0] - left[0], right[1] - left[1]
    norm = math.hypot(dx, dy)
    offset = ((inside[0] - outside[0]) * -dy + (inside[1] - outside[1]) * dx) / norm
    perspective = 1.0  # overhead: people shrink towards every edge, not one way
    field_of_view = 0.0
    if clip.spec.view == "angled":
        # From the camera's data sheet: a wide lens, people off its axis look bigger.
        camera = clip.camera
        field_of_view = math.degrees(2 * math.atan(camera.width / 2 / camera.focal_px))
        centre = (camera.width / 2, camera.height / 2)
        middle = ((left[0] + right[0]) / 2, (left[1] + right[1]) / 2)
        # Measured where a whole person is in view, as far from the line as can be: a
        # body cut by the image's edge would seem to shrink far faster than it does.
        for depth in (-1.2, 1.2, -0.8, 0.8, -0.5, 0.5):
            if not _touches_edge(person_mask(clip, 0.0, depth)):
                far = centroid(0.0, depth)
                gain = off_axis_gain((far[0], far[1]), middle, centre, camera.focal_px)
                slope = math.log(here[2] / (far[2] / gain)) / (here[1] - far[1])
                perspective = math.exp(slope * clip.camera.height)
                break
    return {
        "line": [[round(left[0]), round(left[1])], [round(right[0]), round(right[1])]],
        "in_side": "right" if offset > 0 else "left",
        "band": round(abs(offset) / 2, 1),
        "person_area": round(here[2]),
        "perspective": round(perspective, 2),
        "field_of_view": round(field_of_view, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.door_video", description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=3, help="clips per scenario")
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--width", type=int, default=640)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for spec in varied_set(args.count, args.seed, args.width):
        clip = DoorClip(spec)
        write_video(clip, args.out / f"{spec.name}.avi")
        meta = {
            "spec": {"scenario": spec.scenario, "seed": spec.seed, "view": spec.view},
            "fps": spec.fps,
            "truth": msgspec.to_builtins(clip.truth),
            "settings": installer_settings(clip),
        }
        (args.out / f"{spec.name}.json").write_bytes(msgspec.json.encode(meta))
        print(f"{spec.name}: in={clip.truth.ins} out={clip.truth.outs}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
