"""Time series: an embedded SQLite store and an InfluxDB store behind one protocol, and a
batching writer with a durable spool for outages."""

from storesense.backends.timeseries.base import Point, PointsRejected, QueryFailed, TimeSeriesStore
from storesense.backends.timeseries.batching import BatchingWriter
from storesense.backends.timeseries.factory import open_timeseries
from storesense.backends.timeseries.spool import PointSpool, SpoolError

__all__ = [
    "BatchingWriter",
    "Point",
    "PointSpool",
    "PointsRejected",
    "QueryFailed",
    "SpoolError",
    "TimeSeriesStore",
    "open_timeseries",
]
