"""RSSI smoothing: a 1-D Kalman filter per (beacon, scanner), forgotten after a silence.

RSSI from one advertisement jitters by several dB (multipath, the body between phone and
scanner, channel hopping); the filter tracks the underlying level as a random walk whose
variance grows with the time between advertisements, so sparse and dense advertisers are
both handled. Plain floats: one update per advertisement is cheaper than any array call.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KalmanParams:
    """`process_noise`: dB² the true level may wander per second; `measurement_noise`: dB²
    variance of one reading (σ = 4 dB -> 16)."""

    process_noise: float = 1.0
    measurement_noise: float = 16.0

    def __post_init__(self) -> None:
        if not self.process_noise >= 0:
            raise ValueError(f"process_noise must be >= 0, got {self.process_noise}")
        if not self.measurement_noise > 0:
            raise ValueError(f"measurement_noise must be > 0, got {self.measurement_noise}")


class RssiKalman:
    """The filter for one (beacon, scanner) pair."""

    __slots__ = ("estimate", "updated_at", "variance")

    def __init__(self, first_rssi: float, at: float, params: KalmanParams) -> None:
        self.estimate = float(first_rssi)
        self.variance = params.measurement_noise  # one reading is all we know
        self.updated_at = at

    def update(self, rssi: float, at: float, params: KalmanParams) -> float:
        """Fold in one reading taken at `at` (unix seconds); return the new estimate."""
        elapsed = max(0.0, at - self.updated_at)
        predicted = self.variance + params.process_noise * elapsed
        gain = predicted / (predicted + params.measurement_noise)
        self.estimate += gain * (rssi - self.estimate)
        self.variance = (1.0 - gain) * predicted
        self.updated_at = max(at, self.updated_at)
        return self.estimate


class RssiTracks:
    """Smoothed RSSI of every beacon at every scanner; a pair silent for `lost_after`
    seconds is dropped, and the next reading starts a fresh filter."""

    def __init__(self, params: KalmanParams, lost_after: float) -> None:
        if not lost_after > 0:
            raise ValueError(f"lost_after must be > 0 seconds, got {lost_after}")
        self.params = params
        self.lost_after = lost_after
        self._tracks: dict[str, dict[str, RssiKalman]] = {}

    def __len__(self) -> int:
        return len(self._tracks)

    def __contains__(self, beacon: object) -> bool:
        return beacon in self._tracks

    def update(self, beacon: str, scanner: str, rssi: float, at: float) -> float:
        """Fold in a reading; return the smoothed RSSI of `beacon` at `scanner`."""
        scanners = self._tracks.setdefault(beacon, {})
        track = scanners.get(scanner)
        if track is None or at - track.updated_at > self.lost_after:
            scanners[scanner] = RssiKalman(rssi, at, self.params)
            return float(rssi)
        return track.update(rssi, at, self.params)

    def readings(self, beacon: str, now: float) -> dict[str, float]:
        """Smoothed RSSI by scanner, for the scanners that still hear `beacon` at `now`."""
        scanners = self._tracks.get(beacon, {})
        return {
            scanner: track.estimate
            for scanner, track in scanners.items()
            if now - track.updated_at <= self.lost_after
        }

    def expire(self, now: float) -> list[str]:
        """Drop silent pairs; return the beacons no scanner hears any more (lost)."""
        lost: list[str] = []
        for beacon, scanners in list(self._tracks.items()):
            for scanner in [s for s, t in scanners.items() if now - t.updated_at > self.lost_after]:
                del scanners[scanner]
            if not scanners:
                del self._tracks[beacon]
                lost.append(beacon)
        return lost

    def beacons(self) -> Iterator[str]:
        return iter(self._tracks)
