"""Zone assignment: the zone whose scanners hear a beacon strongest, above that zone's
threshold, with hysteresis so a beacon halfway between two zones does not flap.

A store may run several scanners (several adapters on one box, or remote scanners feeding
one agent); each maps to one zone, and a zone may have several scanners.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ZoneMap:
    """`scanners`: scanner -> zone; `thresholds`: zone -> entry RSSI (dBm, smoothed), zones
    not listed use `default_threshold`; `hysteresis_db`: how much stronger another zone must
    be to take a beacon over, and how far below its threshold a beacon may drop and stay."""

    scanners: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    default_threshold: float = -80.0
    hysteresis_db: float = 4.0

    def __post_init__(self) -> None:
        if not self.hysteresis_db >= 0:
            raise ValueError(f"hysteresis_db must be >= 0, got {self.hysteresis_db}")

    def threshold(self, zone: str) -> float:
        return self.thresholds.get(zone, self.default_threshold)

    def strengths(self, readings: Mapping[str, float]) -> dict[str, float]:
        """Per zone, the strongest smoothed RSSI among its scanners; unmapped scanners count
        for no zone."""
        best: dict[str, float] = {}
        for scanner, rssi in readings.items():
            zone = self.scanners.get(scanner)
            if zone is not None and rssi > best.get(zone, float("-inf")):
                best[zone] = rssi
        return best

    def choose(self, current: str | None, readings: Mapping[str, float]) -> str | None:
        """The zone for a beacon now in `current`, given smoothed RSSI by scanner."""
        strengths = self.strengths(readings)
        entered = [z for z, rssi in strengths.items() if rssi >= self.threshold(z)]
        # Ties go to the lexically first zone so the choice never depends on dict order.
        best = min(entered, key=lambda z: (-strengths[z], z)) if entered else None
        held = strengths.get(current) if current is not None else None
        if current is None or held is None or held < self.threshold(current) - self.hysteresis_db:
            return best
        if best is not None and best != current and strengths[best] >= held + self.hysteresis_db:
            return best
        return current


class ZoneTracker:
    """The current zone of every beacon, moved only as `ZoneMap.choose` allows."""

    def __init__(self, zones: ZoneMap) -> None:
        self.zones = zones
        self._current: dict[str, str | None] = {}

    def update(self, beacon: str, readings: Mapping[str, float]) -> str | None:
        zone = self.zones.choose(self._current.get(beacon), readings)
        self._current[beacon] = zone
        return zone

    def current(self, beacon: str) -> str | None:
        return self._current.get(beacon)

    def forget(self, beacon: str) -> None:
        self._current.pop(beacon, None)
