"""Small synthetic clips for the counter's end-to-end tests, set up as an installer would."""

from __future__ import annotations

from functools import cache

from edge.door.calibrate import calibrated
from edge.door.config import parse_config
from edge.door.counter import CounterSettings, DoorCounter
from simulators.door_video import ClipSpec, DoorClip, View, installer_settings

WIDTH = 320  # half the real size: the same code path, four times fewer pixels
FPS = 10.0


def clip(scenario: str, seed: int, view: View = "overhead") -> DoorClip:
    return DoorClip(ClipSpec(scenario=scenario, seed=seed, view=view, width=WIDTH, fps=FPS))


@cache
def settings(scenario: str, seed: int, view: View = "overhead") -> CounterSettings:
    """The line from the camera's geometry, one person measured by a walk test."""
    door = clip(scenario, seed, view)
    guess = parse_config({**installer_settings(door), "downscale": 1}).counter_settings()
    walk = door.walk_test()
    return calibrated(guess, walk.frames(), FPS)


def count(scenario: str, seed: int, view: View = "overhead") -> tuple[int, int]:
    """(in, out) counted over the whole clip."""
    door = clip(scenario, seed, view)
    counter = DoorCounter(settings(scenario, seed, view), FPS)
    for frame in door.frames():
        counter.process(frame)
    return counter.ins, counter.outs
