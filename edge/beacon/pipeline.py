"""Advertisements in, sightings out: recognise, smooth, assign a zone, throttle.

Pure: time comes from the advertisements, so a replay gives the same sightings every run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from edge.beacon.advertisements import (
    Advertisement,
    BeaconId,
    IgnoreReason,
    identify_advertisement,
    is_app_id,
)
from edge.beacon.smoothing import KalmanParams, RssiTracks
from edge.beacon.staleids import AppIdAges
from edge.beacon.throttle import SightingThrottle
from edge.beacon.zones import ZoneMap, ZoneTracker

RSSI_MIN, RSSI_MAX = -127, 20  # the protocol's range for `rssi`


@dataclass(frozen=True, slots=True)
class Sighting:
    """What one `beacon.sighting` event will say."""

    beacon: str
    ts_ms: int
    rssi: int
    zone: str | None
    tx_power: int | None


@dataclass(frozen=True, slots=True)
class PipelineSettings:
    zones: ZoneMap
    kalman: KalmanParams
    throttle_seconds: float = 10.0
    lost_after_seconds: float = 20.0
    max_beacons: int = 10_000
    # A new beacon's first advertisement often reaches a far scanner first: wait this long
    # for a zone before publishing a first sighting without one.
    settle_seconds: float = 2.0


class BeaconPipeline:
    """The scanner's logic; feed it advertisements in time order."""

    def __init__(self, settings: PipelineSettings) -> None:
        self.settings = settings
        self._tracks = RssiTracks(settings.kalman, settings.lost_after_seconds)
        self._zones = ZoneTracker(settings.zones)
        self._throttle = SightingThrottle(settings.throttle_seconds)
        self._app_ids = AppIdAges(settings.lost_after_seconds)
        self._tx_power: dict[str, int] = {}
        self._first_heard: dict[str, float] = {}
        self.counts: Counter[str] = Counter()  # adverts, sightings, lost
        self.ignored: Counter[IgnoreReason] = Counter()

    def reconfigure(self, settings: PipelineSettings) -> None:
        """Apply new parameters; beacons being tracked keep their smoothed state."""
        self.settings = settings
        self._tracks.params = settings.kalman
        self._tracks.lost_after = settings.lost_after_seconds
        self._zones.zones = settings.zones
        self._throttle.interval = settings.throttle_seconds
        self._app_ids.forget_after = settings.lost_after_seconds

    @property
    def tracked(self) -> int:
        return len(self._tracks)

    def observe(self, advert: Advertisement) -> list[Sighting]:
        """The sightings one advertisement is worth publishing (usually none)."""
        self.counts["adverts"] += 1
        if not RSSI_MIN <= advert.rssi <= RSSI_MAX:
            self.ignored[IgnoreReason.RSSI_OUT_OF_RANGE] += 1
            return []
        identified = identify_advertisement(advert)
        self.ignored.update(identified.problems)
        if not identified.beacons and not identified.problems:
            self.ignored[IgnoreReason.NOT_A_BEACON] += 1
        sightings = []
        for beacon_id in self._current(advert, identified.beacons):
            sighting = self._sight(beacon_id, advert)
            if sighting is not None:
                sightings.append(sighting)
        self.counts["sightings"] += len(sightings)
        return sightings

    def sweep(self, now: float) -> list[str]:
        """Forget beacons no scanner has heard for `lost_after_seconds`; return them."""
        lost = self._tracks.expire(now)
        for beacon in lost:
            self._forget(beacon)
        self._app_ids.expire(now)
        return lost

    def _current(self, advert: Advertisement, beacons: tuple[BeaconId, ...]) -> list[BeaconId]:
        app_ids = [b.beacon for b in beacons if is_app_id(b.beacon)]
        if not app_ids:
            return list(beacons)
        current, stale = self._app_ids.current(advert.scanner, advert.address, app_ids, advert.time)
        self.ignored[IgnoreReason.STALE_APP_ID] += len(stale)
        return [b for b in beacons if not is_app_id(b.beacon) or b.beacon in current]

    def _sight(self, beacon_id: BeaconId, advert: Advertisement) -> Sighting | None:
        beacon, now = beacon_id.beacon, advert.time
        if beacon in self._tracks and not self._tracks.readings(beacon, now):
            self.sweep(now)  # silent for too long: this is a first sighting again
        if beacon not in self._tracks and len(self._tracks) >= self.settings.max_beacons:
            self.sweep(now)
            if len(self._tracks) >= self.settings.max_beacons:
                self.ignored[IgnoreReason.OVER_CAPACITY] += 1
                return None
        self._tracks.update(beacon, advert.scanner, advert.rssi, now)
        first_heard = self._first_heard.setdefault(beacon, now)
        readings = self._tracks.readings(beacon, now)
        zone = self._zones.update(beacon, readings)
        if beacon_id.tx_power is not None:
            self._tx_power[beacon] = beacon_id.tx_power
        settling = now - first_heard < self.settings.settle_seconds
        if zone is None and settling and not self._throttle.published(beacon):
            return None
        if not self._throttle.admit(beacon, zone, now):
            return None
        strengths = self.settings.zones.strengths(readings)
        level = strengths[zone] if zone is not None else max(readings.values())
        return Sighting(
            beacon=beacon,
            ts_ms=round(now * 1000),
            rssi=max(RSSI_MIN, min(RSSI_MAX, round(level))),
            zone=zone,
            tx_power=self._tx_power.get(beacon),
        )

    def _forget(self, beacon: str) -> None:
        self._zones.forget(beacon)
        self._throttle.forget(beacon)
        self._tx_power.pop(beacon, None)
        self._first_heard.pop(beacon, None)
        self.counts["lost"] += 1
