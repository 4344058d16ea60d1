"""Settings read at start-up: store time zones are checked against the IANA database."""

from __future__ import annotations

from pathlib import Path

import pytest

from storesense.errors import ConfigError
from storesense.settings import load_settings


def test_store_timezone_from_the_config_file_is_kept(tmp_path: Path) -> None:
    config = tmp_path / "storesense.toml"
    config.write_text('[stores.shanghai-1]\nlocale = "zh-CN"\ntimezone = "Asia/Shanghai"\n')
    settings = load_settings(config)
    assert settings.stores["shanghai-1"].timezone == "Asia/Shanghai"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "asia/shanghai ", "", "../etc/passwd"])
def test_unknown_store_timezone_stops_start_up_naming_the_key(tmp_path: Path, zone: str) -> None:
    config = tmp_path / "storesense.toml"
    config.write_text(f'[stores.shanghai-1]\ntimezone = "{zone}"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert "setting `stores.shanghai-1.timezone`" in message
    assert f"unknown time zone {zone!r}" in message
    assert str(config) in message


def test_unknown_store_timezone_from_the_environment_names_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STORESENSE_STORES__S1__TIMEZONE", "Europe/Atlantis")
    with pytest.raises(ConfigError, match=r"setting `stores\.s1\.timezone`.*Europe/Atlantis"):
        load_settings(None)
