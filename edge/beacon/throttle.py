"""Publish a sighting on first sighting, on a zone change, or once per interval while a
beacon stays put: a phone advertising ten times a second becomes one event per interval."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Published:
    at: float
    zone: str | None


class SightingThrottle:
    """Decides, per beacon, whether a sighting at `now` is worth an event."""

    def __init__(self, interval: float) -> None:
        if not interval > 0:
            raise ValueError(f"throttle interval must be > 0 seconds, got {interval}")
        self.interval = interval
        self._last: dict[str, _Published] = {}

    def admit(self, beacon: str, zone: str | None, now: float) -> bool:
        """True (and remembered) when `beacon` in `zone` at `now` should be published."""
        last = self._last.get(beacon)
        if last is not None and last.zone == zone and now - last.at < self.interval:
            return False
        self._last[beacon] = _Published(now, zone)
        return True

    def published(self, beacon: str) -> bool:
        """Whether `beacon` has been published since it was last forgotten."""
        return beacon in self._last

    def forget(self, beacon: str) -> None:
        """The beacon was lost: its next sighting is a first sighting again."""
        self._last.pop(beacon, None)
