"""What happens in each kind of synthetic door clip: who walks where, when.

Every planner takes a seeded generator and the doorway's layout and returns actors whose
routes start and end out of view, so that the truth (`door_video_truth`) is unambiguous:
a crossing is a walk from well outside (y < -0.5 m) to well inside (y > 0.5 m) or back.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simulators.door_video_actors import BGR, Actor, Leg, Stand, Walk, random_dog, random_person

SCENARIOS: tuple[str, ...] = (
    "single",
    "side_by_side",
    "pause",
    "turn_back",
    "group",
    "opposing",
    "angled",
    "passers_by",
    "dog",
    "lights",
    "mixed",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    door_half_width: float
    street_y: float  # where routes from the street start (out of view), negative
    shop_y: float  # where routes from the shop start (out of view), positive
    floor_bgr: BGR
    similar_to_floor: float = 0.15  # share of people dressed like the floor
    keep_right: bool = True  # people going in and out tend to keep to opposite sides


Planner = Callable[[np.random.Generator, Layout, float], list[Actor]]


def _speed(rng: np.random.Generator) -> float:
    return float(np.clip(rng.normal(1.25, 0.18), 0.8, 1.7))


def _lane(rng: np.random.Generator, layout: Layout, going_in: bool, spread: float = 0.55) -> float:
    """Where on the threshold someone crosses: usually their side of the door."""
    usable = layout.door_half_width - 0.3
    side = 1.0 if going_in == layout.keep_right else -1.0
    if rng.random() < 0.2:
        side = -side
    return float(np.clip(side * rng.uniform(0.0, spread) * usable * 1.6, -usable, usable))


def _ends(layout: Layout, going_in: bool) -> tuple[float, float]:
    return (layout.street_y, layout.shop_y) if going_in else (layout.shop_y, layout.street_y)


def _crossing(
    rng: np.random.Generator,
    layout: Layout,
    t0: float,
    going_in: bool,
    x_door: float | None = None,
    angle: float | None = None,
    speed: float | None = None,
    stop: tuple[float, float] | None = None,
) -> Actor:
    """Someone walking through the door; `stop` (y, seconds) makes them stand on the way."""
    x_door = _lane(rng, layout, going_in) if x_door is None else x_door
    angle = float(rng.normal(0.0, 0.12)) if angle is None else angle
    speed = _speed(rng) if speed is None else speed
    y_from, y_to = _ends(layout, going_in)
    tan = math.tan(angle) * (1 if going_in else -1)
    start = (x_door + tan * y_from, y_from)
    legs: list[Leg] = []
    if stop is not None:
        y_stop, seconds = stop
        legs += [Walk((x_door + tan * y_stop, y_stop), speed), Stand(seconds, rng.uniform(-1, 1))]
    # A small wiggle near the door so that routes are not ruler-straight.
    y_mid = 0.6 * y_to
    legs.append(Walk((x_door + tan * y_mid + rng.normal(0, 0.08), y_mid), speed))
    legs.append(Walk((x_door + tan * y_to, y_to), speed * rng.uniform(0.9, 1.1)))
    build = random_person(rng, layout.floor_bgr, layout.similar_to_floor)
    return Actor(build, start, legs, t0)


def single(rng: np.random.Generator, layout: Layout, t0: float) -> list[Actor]:
    return [_crossing(rng, layout, t0, bool(rng.random() < 0.5))]


def side_by_side(rng: np.random.Generator, layout: Layout, t0: float) -> list[Actor]:
    """Two people abreast, shoulder to shoulder, at the same pace."""
    going_in = bool(rng.random() < 0.5)
    gap = float(rng.uniform(0.48, 0.65))
    centre = float(rng.uniform(-0.3, 0.3)) * (layout.door_half_width - 0.6)
    speed, angle = _speed(rng) * 0.92, float(rng.normal(0.0, 0.08))
    stagger = float(rng.uniform(-0.15, 0.15)) / speed
    return [
        _crossing(rng, layout, t0, going_in, centre - gap / 2, angle, speed),
        _crossing(rng, layout, t0 + stagger, going_in, centre + gap / 2, angle, speed),
    ]


def pause(rng: np.random.Generator, layout: Layout, t0: float) -> list[Actor]:
    """Someone stops in the doorway for a few seconds, then goes on."""
    going_in = bool(rng.random() < 0.5)
    stop = (float(rng.uniform(-0.35, 0.35)), float(rng.uniform(1.5, 5.0)))
    return [_crossing(rng, layout, t0, going_in, stop=stop)]


def _turn_back(rng: np.random.Generator, layout: Layout, t0: float, going_in: bool) -> Actor:
    """Someone walks up to the door, hesitates and goes back the way they came."""
    y_from, _ = _ends(layout, going_in)
    sign = 1.0 if going_in else -1.0
    reach = sign * float(rng.uniform(-0.9, 0.15))  # how far they get, towards their goal
    x_door = _lane(rng, layout, going_in)
    speed = _speed(rng)
    legs: list[Leg] = [Walk((x_door, reach), speed)]
    if rng.random() < 0.7:
        legs.append(Stand(float(rng.uniform(0.3, 2.0)), float(rng.uniform(-1.5, 1.5))))
    x_back = x_door + float(rng.uniform(-0.8, 0.8))
    legs.append(Walk((x_back, y_from), speed))
    build = random_person(rng, layout.floor_bgr, layout.similar_to_floor)
    return Actor(build, (x_door + float(rng.normal(0, 0.3)), y_from), legs, t0)


def turn_back(rng: np.random.Generator, layout: Layout, t0: float) -> list[Actor]:
    actors = [_turn_back(rng, layout, t0, bool(rng.random() < 0.5))]
    if rng.random() < 0.5:
        actors.append(_crossing(rng, layout, t0 + float(rng.uniform(5, 8)), rng.random() < 0.5))
    return actors


def group(rng: np.random.Generator, layout: Layout, t0: float) -> list[Actor]:
    """Three to five people in quick succession through the door, the same way."""
    going_in = bool(rng.random() < 0.5)
    actors, t = [], t0
    base = _speed(rng)
    for _ in range(int(rng.integers(3, 6))):
        x = float(rng.uniform(-1, 1)) * (layout.door_half_width - 0.35)
        actors.append(_crossing(rng, layout, t, going_in, x, speed=base * rng.uniform(0.95, 1.05)))
        t += float(rng.uniform(0.45, 1.2))
    return actors


def opposing(rng: np.random.Generator, layout: Layout, t0: float) -> list[Actor]:
    """One in and one out at once, passing each other in the doorway."""
    offset = float(rng.uniform(0.3, 0.5)) * (1 if layout.keep_right else -1)
    speed_in, speed_out = _speed(rng), _speed(rng)
    to_door_in, to_door_out = -layout.street_y / speed_in, layout.shop_y / speed_out
    meet = t0 + max(to_door_in, to_door_out)  # when both reach the threshold
    jitter = float(rng.uniform(-0.3, 0.3))
    return [
        _crossing(rng, layout, meet - to_door_in + jitter, True, offset, speed=speed_in),
        _crossing(rng, layout, meet - to_door_out, False, -offset, speed=speed_out),
    ]


def angled(rng: np.random.Generator, layout: Layout, t0: float) -> list[Actor]:
    """People crossing the threshold at a steep angle."""
    actors = []
    for i in range(int(rng.integers(1, 3))):
        angle = float(rng.uniform(0.45, 1.0)) * (1 if rng.random() < 0.5 else -1)
        x = float(rng.uniform(-0.4, 0.4)) * layout.door_half_width
        going_in = bool(rng.random() < 0.5)
        actors.append(_crossing(rng, layout, t0 + 3.0 * i, going_in, x, angle))
    return actors


def passers_by(rng: np.random.Generator, layout: Layout, t0: float) -> list[Actor]:
    """People walking past outside (and along the inside) without using the door."""
    actors = []
    for _ in range(int(rng.integers(2, 5))):
        outside = rng.random() < 0.7
        y = float(rng.uniform(-3.0, -1.0)) if outside else float(rng.uniform(1.0, 2.5))
        span = 6.0 if outside else 4.0
        direction = 1 if rng.random() < 0.5 else -1
        build = random_person(rng, layout.floor_bgr, layout.similar_to_floor)
        start = (-span * direction, y)
        legs: list[Leg] = [Walk((span * direction, y + float(rng.normal(0, 0.3))), _speed(rng))]
        actors.append(Actor(build, start, legs, t0 + float(rng.uniform(0, 6))))
    actors.append(_crossing(rng, layout, t0 + float(rng.uniform(0, 6)), rng.random() < 0.5))
    return actors


def dog(rng: np.random.Generator, layout: Layout, t0: float) -> list[Actor]:
    """A dog trotting through on its own, then a person."""
    going_in = bool(rng.random() < 0.5)
    y_from, y_to = _ends(layout, going_in)
    x = float(rng.uniform(-0.5, 0.5)) * layout.door_half_width
    legs: list[Leg] = [Walk((x + float(rng.normal(0, 0.3)), y_to), float(rng.uniform(1.0, 1.8)))]
    actors = [Actor(random_dog(rng), (x, y_from), legs, t0)]
    actors.append(_crossing(rng, layout, t0 + float(rng.uniform(4, 7)), rng.random() < 0.5))
    return actors


def lights(rng: np.random.Generator, layout: Layout, t0: float) -> list[Actor]:
    """People crossing while the lighting changes (the clip's lighting does the change)."""
    return [
        _crossing(rng, layout, t0 + i * float(rng.uniform(2.0, 3.5)), rng.random() < 0.5)
        for i in range(int(rng.integers(2, 4)))
    ]


_SIMPLE: dict[str, Planner] = {
    "single": single,
    "side_by_side": side_by_side,
    "pause": pause,
    "turn_back": turn_back,
    "group": group,
    "opposing": opposing,
    "angled": angled,
    "passers_by": passers_by,
}


def mixed(rng: np.random.Generator, layout: Layout, t0: float) -> list[Actor]:
    """A busy spell: parties of every kind arriving at random (a Poisson process)."""
    kinds = ("single", "single", "single", "side_by_side", "pause", "turn_back", "group")
    weights = np.array([3, 3, 3, 2, 1, 1.5, 1], float)
    actors: list[Actor] = []
    t = t0
    end = t0 + float(rng.uniform(20, 35))
    while t < end:
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        actors += _SIMPLE[kind](rng, layout, t)
        t += float(rng.exponential(2.5)) + 1.2
    return actors


def walk_test(rng: np.random.Generator, layout: Layout, t0: float) -> list[Actor]:
    """An installer's walk test: two adults (staff), dressed unlike the floor, walk through
    the door one at a time, in and then out, at different places along it."""
    plain = Layout(
        door_half_width=layout.door_half_width,
        street_y=layout.street_y,
        shop_y=layout.shop_y,
        floor_bgr=layout.floor_bgr,
        similar_to_floor=0.0,
    )
    actors = []
    t = t0
    for i in range(2):
        actor = _crossing(rng, plain, t, i % 2 == 0, float(rng.uniform(-0.4, 0.4)))
        actors.append(actor)
        t = actor.t_end + 0.5
    return actors


PLANNERS: dict[str, Planner] = {
    **_SIMPLE,
    "dog": dog,
    "lights": lights,
    "mixed": mixed,
    "walk_test": walk_test,
}
