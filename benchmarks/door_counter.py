"""Door counter accuracy and speed on synthetic clips of known ground truth.

    .venv/bin/python benchmarks/door_counter.py [--per-scenario 3] [--seed 1000]
        [--background average|mog2|knn] [--downscale 2] [--scenario NAME ...]
        [--view overhead|angled]

Generates the varied set (`simulators.door_video.varied_set`: every scenario, overhead and
angled cameras, 10-25 frames/s, 640x480), configures the counter as an installer would
(`installer_settings`: the line through where bodies are on the threshold, a +-0.3 m band,
one person's area) and counts every clip on one core (`cv2.setNumThreads(1)`).

Accuracy, over a set of clips: 1 - sum(|in - true_in| + |out - true_out|) / sum(true_in +
true_out), so a missed, an extra and a wrong-way crossing each cost one. Exact-match clips:
the share of clips where both counts are right. Frames/s: frames divided by the time spent
in `DoorCounter.process` (rendering the clips is not timed). Figures are given per
scenario, per camera view and overall.

A doorway whose walk test fails (`CalibrationError`) is not dropped: its clip is counted with
the installer's first guess, as an agent left uncalibrated would count, and is flagged and
totalled so the failure is seen.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial

import cv2

from edge.door.background import BackgroundKind
from edge.door.calibrate import calibrated
from edge.door.config import parse_config
from edge.door.counter import CounterSettings, DoorCounter
from edge.door.errors import CalibrationError
from simulators.door_video import ClipSpec, DoorClip, installer_settings, varied_set


@dataclass(slots=True)
class Outcome:
    spec: ClipSpec
    true_in: int
    true_out: int
    counted_in: int
    counted_out: int
    frames: int
    seconds: float
    walk_test_failed: str | None = None

    @property
    def errors(self) -> int:
        return abs(self.counted_in - self.true_in) + abs(self.counted_out - self.true_out)

    @property
    def crossings(self) -> int:
        return self.true_in + self.true_out


def settings_for(
    clip: DoorClip, background: BackgroundKind, downscale: int
) -> tuple[CounterSettings, str | None]:
    """What the installer sets: the line, side and band from the camera's geometry and a
    first guess at one person's area, then a walk test in the same doorway to measure it.
    Returns the settings and, when the walk test failed, why (the guess is used then)."""
    section = {**installer_settings(clip), "background": background, "downscale": downscale}
    guess = parse_config(section).counter_settings()
    walk = clip.walk_test()
    try:
        return calibrated(guess, walk.frames(), walk.spec.fps), None
    except CalibrationError as error:
        return guess, str(error)


def run_clip(spec: ClipSpec, background: BackgroundKind, downscale: int) -> Outcome:
    clip = DoorClip(spec)
    settings, walk_test_failed = settings_for(clip, background, downscale)
    counter = DoorCounter(settings, spec.fps)
    spent, frames = 0.0, 0
    for frame in clip.frames():
        started = time.perf_counter()
        counter.process(frame)
        spent += time.perf_counter() - started
        frames += 1
    return Outcome(
        spec, clip.truth.ins, clip.truth.outs, counter.ins, counter.outs, frames, spent,
        walk_test_failed,
    )  # fmt: skip


def accuracy(outcomes: list[Outcome]) -> float:
    truth = sum(o.crossings for o in outcomes)
    return 1.0 - sum(o.errors for o in outcomes) / truth if truth else float("nan")


def report(outcomes: list[Outcome]) -> None:
    by_scenario: dict[str, list[Outcome]] = defaultdict(list)
    by_view: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_scenario[outcome.spec.scenario].append(outcome)
        by_view[f"{outcome.spec.view} view"].append(outcome)
    print(f"{'scenario':<14}{'clips':>6}{'true':>6}{'errors':>8}{'accuracy':>10}{'exact':>8}")
    for name, group in [*by_scenario.items(), *sorted(by_view.items()), ("overall", outcomes)]:
        exact = sum(1 for o in group if o.errors == 0)
        truth = sum(o.crossings for o in group)
        errors = sum(o.errors for o in group)
        acc = f"{accuracy(group):.1%}" if truth else "-"
        print(f"{name:<14}{len(group):>6}{truth:>6}{errors:>8}{acc:>10}{exact:>5}/{len(group)}")
    frames = sum(o.frames for o in outcomes)
    seconds = sum(o.seconds for o in outcomes)
    print(f"frames: {frames}, counter time: {seconds:.1f} s, {frames / seconds:.0f} frames/s")
    uncalibrated = [o.spec.name for o in outcomes if o.walk_test_failed]
    if uncalibrated:
        print(
            f"walk test failed in {len(uncalibrated)} doorway(s), counted with the installer's"
            f" first guess: {', '.join(uncalibrated)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-scenario", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--background", default="average", choices=["average", "mog2", "knn"])
    parser.add_argument("--downscale", type=int, default=2)
    parser.add_argument("--scenario", nargs="*", help="only these scenarios")
    parser.add_argument("--view", choices=["overhead", "angled"], help="only this camera view")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument(
        "--jobs", type=int, default=1, help="clips at once (>1 is faster; frames/s is per job)"
    )
    args = parser.parse_args()
    cv2.setNumThreads(1)
    specs = varied_set(args.per_scenario, args.seed, args.width)
    if args.scenario:
        specs = [s for s in specs if s.scenario in args.scenario]
    if args.view:
        specs = [s for s in specs if s.view == args.view]
    work = partial(run_clip, background=args.background, downscale=args.downscale)
    with ProcessPoolExecutor(args.jobs, initializer=cv2.setNumThreads, initargs=(1,)) as pool:
        results = pool.map(work, specs) if args.jobs > 1 else map(work, specs)
        outcomes = [_show(outcome) for outcome in results]
    print()
    report(outcomes)


def _show(outcome: Outcome) -> Outcome:
    flag = "" if outcome.errors == 0 else "  <-- "
    if outcome.walk_test_failed:
        flag += f"  (walk test failed: {outcome.walk_test_failed})"
    print(
        f"{outcome.spec.name:<28} fps={outcome.spec.fps:>4.0f}"
        f" true in/out {outcome.true_in}/{outcome.true_out}"
        f" counted {outcome.counted_in}/{outcome.counted_out}{flag}",
        flush=True,
    )
    return outcome


if __name__ == "__main__":
    main()
