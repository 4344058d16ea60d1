"""Open the time-series store the settings ask for."""

from __future__ import annotations

from storesense.backends.timeseries.base import TimeSeriesStore
from storesense.backends.timeseries.influx import InfluxTimeSeries
from storesense.backends.timeseries.sqlite import SQLiteTimeSeries
from storesense.settings import Settings


def open_timeseries(settings: Settings) -> TimeSeriesStore:
    """InfluxDB when `timeseries.influx_url` is set, else the SQLite file in the data dir.

    Nothing connects yet: the first write or query does (and creates the 1.x database)."""
    config = settings.timeseries
    if config.influx_url is None:
        return SQLiteTimeSeries(settings.sqlite_path())
    return InfluxTimeSeries(
        config.influx_url,
        version=2 if config.influx_version == 2 else 1,
        database=config.database,
        username=config.username,
        password=config.password,
        token=config.token,
        org=config.org,
    )
