"""The agent's config section: defaults, a full example, and errors that name the key."""

from __future__ import annotations

from typing import Any

import pytest

from edge.beacon.config import BleakSourceConfig, ReplaySourceConfig, parse_config


def test_an_empty_section_gives_working_defaults() -> None:
    config = parse_config({})
    assert config.source == BleakSourceConfig(adapters={"local": ""}, scanning_mode="active")
    settings = config.pipeline_settings()
    assert settings.throttle_seconds == 10 and settings.lost_after_seconds == 20
    assert settings.zones.default_threshold == -80 and settings.zones.hysteresis_db == 4
    assert settings.kalman.process_noise == 1.0 and settings.kalman.measurement_noise == 16.0
    assert settings.max_beacons == 10_000 and settings.settle_seconds == 2.0


def test_a_full_section_reaches_the_pipeline_settings() -> None:
    config = parse_config(
        {
            "scanners": {"door": "entrance", "fr": "fitting-rooms"},
            "zones": {"fitting-rooms": {"threshold": -70}},
            "default_threshold": -85,
            "hysteresis_db": 6,
            "kalman": {"process_noise": 0.5, "measurement_noise": 9},
            "throttle_seconds": 5,
            "lost_after_seconds": 30,
            "max_beacons": 100,
            "settle_seconds": 0,
            "source": {"type": "replay", "path": "x.jsonl", "speed": 2},
        }
    )
    settings = config.pipeline_settings()
    assert settings.zones.scanners == {"door": "entrance", "fr": "fitting-rooms"}
    assert settings.zones.threshold("fitting-rooms") == -70
    assert settings.zones.threshold("entrance") == -85
    assert settings.zones.hysteresis_db == 6
    assert (settings.kalman.process_noise, settings.kalman.measurement_noise) == (0.5, 9)
    assert (settings.throttle_seconds, settings.lost_after_seconds) == (5, 30)
    assert settings.max_beacons == 100 and settings.settle_seconds == 0
    assert config.source == ReplaySourceConfig(path="x.jsonl", speed=2)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"zonez": {}}, "unknown key `zonez`"),
        ({"kalman": {"proces_noise": 1}}, "unknown key `kalman.proces_noise`"),
        (
            {"kalman": {"measurement_noise": 0}},
            "key `kalman.measurement_noise`: expected `float` > 0",
        ),
        ({"zones": {"ok": {"threshold": -70}, "fr": {}}}, "key `zones.fr.threshold` is required"),
        ({"zones": {"fr": {"threshold": 30}}}, "key `zones.fr.threshold`: expected `float` <= 20"),
        ({"throttle_seconds": 0}, "key `throttle_seconds`: expected `float` > 0"),
        ({"throttle_seconds": "10s"}, "key `throttle_seconds`: expected `float`, got `str`"),
        ({"scanners": {"door": ""}}, "key `scanners.door`: expected `str` of length >= 1"),
        ({"scanners": {"": "entrance"}}, "a name in `scanners`: expected `str` of length >= 1"),
        (
            {"source": {"type": "bleak", "adapters": {"door": "hci0", "till": 1}}},
            "key `source.adapters.till`: expected `str`, got `int`",
        ),
        ({"source": {"type": "replay"}}, "key `source.path` is required"),
        ({"source": {"type": "usb"}}, "key `source.type`: invalid value 'usb'"),
        ({"source": {"scanning_mode": "active"}}, "key `source.type` is required"),
        (
            {"source": {"type": "bleak", "scanning_mode": "sneaky"}},
            "key `source.scanning_mode`: invalid enum value 'sneaky'",
        ),
    ],
)
def test_bad_sections_are_refused_naming_the_key(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=r"^beacon config: ") as caught:
        parse_config(section)
    assert message in str(caught.value)
