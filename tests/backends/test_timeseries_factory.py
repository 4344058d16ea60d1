"""open_timeseries picks the store the settings name, and it works."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from storesense.backends.timeseries import Point, open_timeseries
from storesense.backends.timeseries.influx import InfluxTimeSeries
from storesense.backends.timeseries.sqlite import SQLiteTimeSeries
from storesense.errors import ConfigError
from storesense.settings import Settings, TimeSeriesSettings, load_settings
from tests.servers import InfluxDB

POINT = Point("door_crossing", {"store": "s1"}, {"count": 2}, 1_700_000_000 * 10**9)


async def test_without_influx_url_it_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    store = open_timeseries(Settings(data_dir=tmp_path / "data"))
    try:
        assert isinstance(store, SQLiteTimeSeries)
        await store.write([POINT])
        assert await store.count("door_crossing", start_ns=0, end_ns=2**62) == 1
    finally:
        await store.close()
    assert (tmp_path / "data" / "timeseries.sqlite").is_file()


async def test_with_influx_url_it_is_influx_with_that_database(influxdb: InfluxDB) -> None:
    database = f"factory_{uuid.uuid4().hex}"
    settings = Settings(timeseries=TimeSeriesSettings(influx_url=influxdb.url, database=database))
    store = open_timeseries(settings)
    try:
        assert isinstance(store, InfluxTimeSeries)
        assert (store.url, store.database, store.version) == (influxdb.url, database, 1)
        await store.write([POINT])
        assert await store.sum("door_crossing", "count", start_ns=0, end_ns=2**62) == 2.0
    finally:
        await store.close()


def test_v2_settings_reach_the_store() -> None:
    settings = Settings(
        timeseries=TimeSeriesSettings(
            influx_url="http://influx.example:8086",
            influx_version=2,
            database="bucket",
            token="tok",
            org="shop",
        )
    )
    store = open_timeseries(settings)
    assert isinstance(store, InfluxTimeSeries)
    assert (store.version, store.database) == (2, "bucket")


def test_the_spool_sits_in_the_data_dir_unless_named(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).spool_path() == tmp_path / "timeseries-spool.sqlite"
    named = TimeSeriesSettings(spool_path=tmp_path / "elsewhere.sqlite")
    assert Settings(data_dir=tmp_path, timeseries=named).spool_path() == named.spool_path
    assert TimeSeriesSettings().spool_max_bytes == 1 << 30


def test_a_spool_bound_under_a_mebibyte_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"timeseries\.spool_max_bytes"):
        load_settings(None, timeseries={"spool_max_bytes": 1000})
