"""Read what the analytics need: points from the time-series store (through the
`TimeSeriesStore` protocol: InfluxQL on InfluxDB, SQL on the SQLite default, one code path
here), stores' timezones and regions and product styles from the registry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta, tzinfo

from api.analytics.periods import Period, zone
from rules.lifecycle.outcomes import PointQuery
from storesense.backends.state.base import StateStore
from storesense.backends.timeseries.base import Point
from storesense.registry import stored
from storesense.registry import stores as store_registry
from storesense.registry.products import Product
from storesense.settings import Settings


async def fetch(
    series: PointQuery,
    measurements: Iterable[str],
    period: Period,
    stores: frozenset[str] | None,
    *,
    later: timedelta = timedelta(0),
) -> dict[str, list[Point]]:
    """Points of each measurement over a range covering the period in every store's
    timezone (`figures.Frame` keeps each store's own window), and `later` past it; one query
    per store, or one for the whole organisation when `stores` is None."""
    start_ns, end_ns = period.query_range_ns()
    end_ns += later // timedelta(microseconds=1) * 1000
    found: dict[str, list[Point]] = {}
    for measurement in dict.fromkeys(measurements):
        points: list[Point] = []
        if stores is None:
            points = await series.query(measurement, start_ns=start_ns, end_ns=end_ns)
        else:
            for store in sorted(stores):
                points += await series.query(
                    measurement, start_ns=start_ns, end_ns=end_ns, tags={"store": store}
                )
        found[measurement] = points
    return found


async def timezones(
    state: StateStore, settings: Settings, stores: Iterable[str] | None
) -> dict[str, tzinfo]:
    """Each store's timezone: the registry's, else `[stores.x] timezone`, else UTC. Without
    `stores`, every store the registry or the settings know (others are reckoned in UTC)."""
    names: dict[str, str] = {}
    if stores is None:
        names.update((store, config.timezone) for store, config in settings.stores.items())
        names.update(
            (store.id, store.timezone) for store in await store_registry.list_stores(state)
        )
    else:
        for store in stores:
            names[store] = await store_registry.store_timezone(state, store, settings)
    return {store: zone(name) for store, name in names.items()}


class UnknownRegion(LookupError):
    pass


async def region_stores(state: StateStore, region: str) -> list[str]:
    """The ids of a region's stores; UnknownRegion when the registry has no such region."""
    if await store_registry.regions(state).get(region) is None:
        raise UnknownRegion(region)
    return sorted(store.id for store in await store_registry.stores_in_region(state, region))


async def catalog_styles(state: StateStore, gtins: Iterable[str]) -> Mapping[str, str]:
    """The catalog's style of each GTIN it knows."""
    styles: dict[str, str] = {}
    for gtin in sorted(set(gtins)):
        product = await stored.load_one(state, Product, gtin)
        if product is not None and product.style:
            styles[gtin] = product.style
    return styles
