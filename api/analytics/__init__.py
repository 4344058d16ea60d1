"""Store analytics: footfall, visits, dwell, fitting rooms, conversion, repurchase, alert
outcomes, follow-up tasks, per store / stores and period, bucketed in each store's timezone.

`periods` (local-time windows and buckets) and `figures` (aggregation) are pure: points in,
report models out. `source` is the only part that talks to the time-series store, through
the `TimeSeriesStore` protocol, so SQLite and InfluxDB (InfluxQL) share one code path.
"""
