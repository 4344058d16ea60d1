"""Time series: an embedded SQLite store and an InfluxDB store behind one protocol."""

from storesense.backends.timeseries.base import Point, PointsRejected, QueryFailed, TimeSeriesStore
from storesense.backends.timeseries.batching import BatchingWriter
from storesense.backends.timeseries.factory import open_timeseries

__all__ = [
    "BatchingWriter",
    "Point",
    "PointsRejected",
    "QueryFailed",
    "TimeSeriesStore",
    "open_timeseries",
]
