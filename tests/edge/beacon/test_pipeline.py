"""The pipeline end to end on plain values: recognise, smooth, zone, throttle, forget."""

from __future__ import annotations

import random

from edge.beacon.advertisements import Advertisement, IgnoreReason, app_service_uuid
from edge.beacon.pipeline import BeaconPipeline, PipelineSettings, Sighting
from edge.beacon.smoothing import KalmanParams
from edge.beacon.zones import ZoneMap
from storesense.protocol.eid import eid_at
from tests.edge.beacon.helpers import APP_KEY, T0, ibeacon, ibeacon_id

ZONES = ZoneMap(
    scanners={"door": "entrance", "till": "checkout"}, default_threshold=-80, hysteresis_db=4
)


def pipeline(**overrides: object) -> BeaconPipeline:
    settings: dict[str, object] = {
        "zones": ZONES,
        "kalman": KalmanParams(1.0, 16.0),
        "throttle_seconds": 10.0,
        "lost_after_seconds": 5.0,
    }
    settings.update(overrides)
    return BeaconPipeline(PipelineSettings(**settings))  # type: ignore[arg-type]


def feed(p: BeaconPipeline, adverts: list[Advertisement]) -> list[Sighting]:
    return [s for advert in adverts for s in p.observe(advert)]


def test_a_steady_beacon_is_published_once_per_throttle_interval() -> None:
    p = pipeline()
    sightings = feed(p, [ibeacon(T0 + i / 10, -60, "door") for i in range(600)])
    assert [round(s.ts_ms / 1000 - T0, 1) for s in sightings] == [0, 10, 20, 30, 40, 50]
    assert {(s.beacon, s.zone, s.rssi, s.tx_power) for s in sightings} == {
        (ibeacon_id(), "entrance", -60, -59)
    }
    assert p.counts == {"adverts": 600, "sightings": 6}


def test_published_rssi_is_smoothed() -> None:
    rng = random.Random(7)
    p = pipeline(throttle_seconds=1.0)
    adverts = [ibeacon(T0 + i / 10, -70 + rng.choice([-8, 8]), "door") for i in range(300)]
    later = [s.rssi for s in feed(p, adverts)][5:]
    assert later and all(abs(rssi + 70) <= 3 for rssi in later)  # raw readings are 8 dB off


def test_a_zone_change_is_published_at_once() -> None:
    p = pipeline(throttle_seconds=60.0)
    at_door = [ibeacon(T0 + i / 10, -55, "door") for i in range(50)]
    walking = [
        advert
        for i in range(50, 150)
        for advert in (ibeacon(T0 + i / 10, -85, "door"), ibeacon(T0 + i / 10, -55, "till"))
    ]
    sightings = feed(p, at_door + walking)
    assert [s.zone for s in sightings] == ["entrance", "checkout"]
    moved = sightings[1]
    assert 5.0 < moved.ts_ms / 1000 - T0 < 8.0
    assert moved.rssi >= -62  # the new zone's strength, not the old one's


def test_a_beacon_out_of_every_zone_is_published_without_zone_once_settled() -> None:
    p = pipeline(settle_seconds=2.0)
    [sighting] = feed(p, [ibeacon(T0 + i / 2, -95, "door") for i in range(6)])
    assert sighting.zone is None and sighting.rssi == -95
    assert sighting.ts_ms == round((T0 + 2.0) * 1000)


def test_a_new_beacon_heard_first_by_a_far_scanner_is_published_once_in_its_zone() -> None:
    p = pipeline(settle_seconds=2.0)
    sightings = feed(p, [ibeacon(T0, -88, "door"), ibeacon(T0 + 0.3, -60, "till")])
    assert [(s.zone, s.rssi, s.ts_ms) for s in sightings] == [
        ("checkout", -60, round((T0 + 0.3) * 1000))
    ]


def test_without_settling_the_first_advertisement_is_published_at_once() -> None:
    p = pipeline(settle_seconds=0.0)
    sightings = feed(p, [ibeacon(T0, -88, "door"), ibeacon(T0 + 0.3, -60, "till")])
    assert [s.zone for s in sightings] == [None, "checkout"]


def test_a_lost_beacon_coming_back_is_a_first_sighting_again() -> None:
    p = pipeline(throttle_seconds=60.0, lost_after_seconds=5.0)
    before = feed(p, [ibeacon(T0 + i, -60, "door") for i in range(3)])
    back = feed(p, [ibeacon(T0 + 2 + 6, -60, "door")])  # 6 s of silence
    assert len(before) == 1 and len(back) == 1
    assert p.counts["lost"] == 1


def test_a_short_gap_is_not_a_loss() -> None:
    p = pipeline(throttle_seconds=60.0, lost_after_seconds=5.0)
    sightings = feed(p, [ibeacon(T0, -60, "door"), ibeacon(T0 + 4.9, -60, "door")])
    assert len(sightings) == 1 and p.counts["lost"] == 0


def test_sweep_forgets_silent_beacons() -> None:
    p = pipeline(lost_after_seconds=5.0)
    feed(p, [ibeacon(T0, -60, "door", minor=1), ibeacon(T0 + 4, -60, "door", minor=2)])
    assert p.sweep(T0 + 6) == [ibeacon_id(minor=1)]
    assert p.tracked == 1


def test_unusable_advertisements_are_counted_by_reason() -> None:
    p = pipeline()
    adverts = [
        Advertisement(time=T0, scanner="door", rssi=-60),  # nothing at all
        Advertisement(time=T0, scanner="door", rssi=-60, manufacturer_data={0x0006: b"\x01"}),
        Advertisement(time=T0, scanner="door", rssi=-60, manufacturer_data={0x004C: b"\x02\x15"}),
        Advertisement(time=T0, scanner="door", rssi=-60, service_data={"feaa": b"\x20\x00"}),
        ibeacon(T0, 127, "door"),  # HCI's "RSSI not available"
        ibeacon(T0, -128, "door"),
    ]
    assert feed(p, adverts) == []
    assert p.ignored == {
        IgnoreReason.NOT_A_BEACON: 2,
        IgnoreReason.IBEACON_BAD_LENGTH: 1,
        IgnoreReason.EDDYSTONE_NOT_UID: 1,
        IgnoreReason.RSSI_OUT_OF_RANGE: 2,
    }
    assert p.tracked == 0


def app_advert(at: float, uuids: list[str], address: str = "5C:00") -> Advertisement:
    return Advertisement(
        time=at, scanner="door", rssi=-60, address=address, service_uuids=tuple(uuids)
    )


def test_an_app_id_bluez_still_lists_after_rotation_is_not_published() -> None:
    window_start = (T0 // 900 + 1) * 900
    old, new = eid_at(APP_KEY, window_start - 1), eid_at(APP_KEY, window_start)
    p = pipeline(throttle_seconds=1.0)
    before = feed(p, [app_advert(window_start - 3 + i, [app_service_uuid(old)]) for i in range(3)])
    after = feed(
        p,
        [
            app_advert(window_start + i, [app_service_uuid(old), app_service_uuid(new)])
            for i in range(3)
        ],
    )
    assert {s.beacon for s in before} == {old}
    assert {s.beacon for s in after} == {new}
    assert p.ignored[IgnoreReason.STALE_APP_ID] == 3


def test_two_app_ids_heard_together_from_the_start_are_both_published() -> None:
    p = pipeline()
    uuids = [app_service_uuid("0123456789abcdef"), app_service_uuid("fedcba9876543210")]
    assert {s.beacon for s in p.observe(app_advert(T0, uuids))} == {
        "0123456789abcdef",
        "fedcba9876543210",
    }


def test_app_ids_of_different_phones_do_not_shadow_each_other() -> None:
    p = pipeline()
    first = p.observe(app_advert(T0, [app_service_uuid("0123456789abcdef")], address="A"))
    second = p.observe(app_advert(T0 + 1, [app_service_uuid("fedcba9876543210")], address="B"))
    assert len(first) == 1 and len(second) == 1


def test_beyond_capacity_new_beacons_are_refused_and_counted() -> None:
    p = pipeline(max_beacons=2, lost_after_seconds=5.0)
    feed(p, [ibeacon(T0, -60, "door", minor=m) for m in (1, 2)])
    assert p.observe(ibeacon(T0 + 1, -60, "door", minor=3)) == []
    assert p.ignored[IgnoreReason.OVER_CAPACITY] == 1
    assert len(p.observe(ibeacon(T0 + 7, -60, "door", minor=3))) == 1  # the others were lost


def test_reconfigure_applies_to_beacons_already_tracked() -> None:
    p = pipeline(throttle_seconds=10.0)
    feed(p, [ibeacon(T0, -60, "door")])
    assert feed(p, [ibeacon(T0 + 3, -60, "door")]) == []
    p.reconfigure(
        PipelineSettings(
            zones=ZoneMap(scanners={"door": "lobby"}),
            kalman=KalmanParams(),
            throttle_seconds=2.0,
            lost_after_seconds=5.0,
        )
    )
    [sighting] = feed(p, [ibeacon(T0 + 3.5, -60, "door")])
    assert sighting.zone == "lobby"
    assert len(feed(p, [ibeacon(T0 + 4, -60, "door"), ibeacon(T0 + 5.6, -60, "door")])) == 1
