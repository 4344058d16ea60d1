"""Reconnect backoff jitter (pure). paho's `reconnect_delay_set(min, max)` waits min, 2·min,
4·min … max between attempts; `Backoff` tracks the same step and adds a random extra of up
to half of it, so a store full of agents (or a fleet after a broker restart) does not
reconnect in lockstep."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    def __init__(
        self, min_s: float, max_s: float, rng: Callable[[], float] = random.random
    ) -> None:
        if not 0 < min_s <= max_s:
            raise ValueError(f"backoff needs 0 < min_s <= max_s, got {min_s}, {max_s}")
        self.min_s = min_s
        self.max_s = max_s
        self.failures = 0
        self._rng = rng

    def failed(self) -> None:
        """A connection attempt failed or an established connection was lost."""
        self.failures += 1

    def succeeded(self) -> None:
        self.failures = 0

    def step(self) -> float:
        """paho's current wait before the next attempt (0 before any failure)."""
        if self.failures == 0:
            return 0.0
        return min(self.max_s, self.min_s * 2.0 ** min(self.failures - 1, 30))

    def jitter(self) -> float:
        """The random extra wait to add before the next attempt: [0, step/2)."""
        return self._rng() * self.step() / 2
