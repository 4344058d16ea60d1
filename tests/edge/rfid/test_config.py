from __future__ import annotations

import tomllib

import pytest
import yaml

from edge.rfid import config as config_module
from edge.rfid.config import LlrpSourceConfig, RfidConfigError, parse_config
from edge.rfid.filter import FilterConfig, ZoneParams


def test_the_documented_example_parses() -> None:
    assert config_module.__doc__ is not None
    example = config_module.__doc__.split("```yaml")[1].split("```")[0]
    config = parse_config(yaml.safe_load(example)["rfid"])
    assert config.filter_config() == FilterConfig(
        antennas={
            1: "fitting-room-1",
            2: "fitting-room-1",
            3: "fitting-room-2",
            4: "fitting-room-2",
        },
        default=ZoneParams(min_reads=3, window_ms=2_000, leave_after_ms=10_000),
        zones={"fitting-room-2": ZoneParams(3, 2_000, 15_000, min_rssi=-75.0)},
        switch_margin_db=6.0,
        max_late_ms=2_000,
    )
    assert config.source == LlrpSourceConfig(host="192.168.1.50")


def test_toml_string_antenna_keys_and_partial_zone_overrides() -> None:
    section = tomllib.loads(
        """
        switch_margin_db = 4.5
        max_late_seconds = 0.5
        [antennas]
        1 = "fitting-room-1"
        7 = "fitting-room-2"
        [defaults]
        min_reads = 2
        window_seconds = 1.5
        [zones.fitting-room-2]
        min_reads = 4
        [source]
        type = "replay"
        path = "reads.csv"
        """
    )
    filter_config = parse_config(section).filter_config()
    assert filter_config.antennas == {1: "fitting-room-1", 7: "fitting-room-2"}
    assert filter_config.default == ZoneParams(2, 1_500, 10_000)
    assert filter_config.params("fitting-room-2") == ZoneParams(4, 1_500, 10_000)
    assert (filter_config.switch_margin_db, filter_config.max_late_ms) == (4.5, 500)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"antennas": {"1": "a"}, "source": "x"}, "key `source`: expected `object`"),
        ({"antennas": [1, 2]}, "key `antennas`: expected `object`, got `array`"),
        ({"antennas": {"1": 5}}, "key `antennas.1`: zone must be a name"),
        ({"antennas": {"99999": "a"}}, "key `antennas.99999`: antenna id must be 0-65535"),
        ({"antennas": {"1": "a"}, "zones": []}, "key `zones` must be a mapping"),
        (
            {"antennas": {"1": "a"}, "zones": {"a": {"window_seconds": 0}}},
            "key `zones.a.window_seconds`",
        ),
        ({"antennas": {"1": "a"}, "defaults": {"min_rssi": -200}}, "key `defaults.min_rssi`"),
        (
            {"antennas": {"1": "a"}, "source": {"type": "llrp", "host": "r", "antennas": [0]}},
            "key `source.antennas.0`",
        ),
    ],
)
def test_errors_name_the_key(section: dict[str, object], message: str) -> None:
    with pytest.raises(RfidConfigError, match=message.replace("`", ".")) as caught:
        parse_config(section, require_source=False)
    assert str(caught.value).startswith("rfid config: ")


def test_a_non_mapping_section_is_refused() -> None:
    with pytest.raises(RfidConfigError, match="must be a mapping"):
        parse_config(["antennas"])  # type: ignore[arg-type]


def test_a_source_is_required_unless_told_otherwise() -> None:
    with pytest.raises(RfidConfigError, match="key `source` is required"):
        parse_config({"antennas": {"1": "a"}})
    assert parse_config({"antennas": {"1": "a"}}, require_source=False).source is None
