"""Periods and buckets in a store's local time (pure).

A period is given by `from`/`to` bounds: a date is local midnight, a datetime without an
offset is local wall time, both in each store's own timezone (so "2026-11-26" means that
day in Shanghai for a Shanghai store and in Paris for a Paris one); a datetime with an offset
is an instant. Buckets (hour, day, week from Monday) are local wall-clock intervals, keyed by
their naive local start, so stores in different timezones add up hour by local hour.

On a daylight-saving change the local hour that repeats is one bucket (two hours long) and
the hour that is skipped is an empty bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

BucketSize = Literal["hour", "day", "week"]
Bound = date | datetime  # datetime is a date subclass: check it first

MAX_SPAN = timedelta(days=366)
EARLIEST, LATEST = date(1971, 1, 1), date(2200, 1, 1)  # bounds outside are typos
MAX_BUCKETS = 1000
_STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
# Offsets span UTC-12 to UTC+14: a local bound is within this of the same wall time in UTC.
_TZ_SLACK = timedelta(hours=14)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


class PeriodError(ValueError):
    """A bad period; `field` names the query parameter at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"`{field}`: {message}")
        self.field = field
        self.message = message


def zone(name: str) -> tzinfo:
    """The timezone of an IANA name; ValueError naming it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}: {exc}") from None


def to_ns(bound: Bound, tz: tzinfo) -> int:
    """Epoch nanoseconds of a bound, reading dates and naive datetimes in `tz`."""
    if not isinstance(bound, datetime):
        bound = datetime.combine(bound, time(), tz)
    elif bound.tzinfo is None:
        bound = bound.replace(tzinfo=tz)
    return (bound - _EPOCH) // _US * 1000


def local_time(ts_ns: int, tz: tzinfo) -> datetime:
    """The naive local wall time of an instant."""
    return (_EPOCH + timedelta(microseconds=ts_ns // 1000)).astimezone(tz).replace(tzinfo=None)


def bucket_of(ts_ns: int, tz: tzinfo, size: BucketSize) -> datetime:
    """The naive local start of the bucket holding the instant."""
    local = local_time(ts_ns, tz)
    if size == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = datetime.combine(local.date(), time())
    return day if size == "day" else day - timedelta(days=local.weekday())


def bucket_starts(start_ns: int, end_ns: int, tz: tzinfo, size: BucketSize) -> list[datetime]:
    """Every bucket overlapping [start_ns, end_ns), in order (empty when the range is)."""
    if end_ns <= start_ns:
        return []
    at, last = bucket_of(start_ns, tz, size), bucket_of(end_ns - 1, tz, size)
    starts = []
    while at <= last:
        starts.append(at)
        at += _STEP[size]
    return starts


def label(start: datetime, tz: tzinfo | None) -> str:
    """ISO 8601 of a bucket start: with its offset for one timezone, local wall time else."""
    return start.replace(tzinfo=tz).isoformat() if tz is not None else start.isoformat()


@dataclass(frozen=True, slots=True)
class Period:
    start: Bound
    end: Bound
    bucket: BucketSize

    def window_ns(self, tz: tzinfo) -> tuple[int, int]:
        """The half-open instant range the period covers in a store of timezone `tz`."""
        return to_ns(self.start, tz), to_ns(self.end, tz)

    def query_range_ns(self) -> tuple[int, int]:
        """A range covering the period in every timezone (exact for instants)."""
        start, end = to_ns(self.start, UTC), to_ns(self.end, UTC)
        slack = _TZ_SLACK // _US * 1000
        return (
            start if _is_instant(self.start) else start - slack,
            end if _is_instant(self.end) else end + slack,
        )


def make_period(
    start: Bound | None, end: Bound | None, bucket: BucketSize, *, today: date
) -> Period:
    """Check a requested period; `from` defaults to `today`, `to` to a day (a week for week
    buckets) after `from`. Raises PeriodError naming `from` or `to`."""
    if start is None:
        start = today
    for name, bound in (("from", start), ("to", end)):
        if bound is not None and not EARLIEST <= _date_of(bound) < LATEST:
            raise PeriodError(name, f"must be between {EARLIEST} and {LATEST}, got {bound}")
    if end is None:
        end = start + (_STEP["week"] if bucket == "week" else _STEP["day"])
    # Local bounds compare the same in every timezone; mixed ones are checked in UTC.
    start_ns, end_ns = to_ns(start, UTC), to_ns(end, UTC)
    if end_ns <= start_ns:
        raise PeriodError(
            "to", f"must be after `from` ({start.isoformat()}), got {end.isoformat()}"
        )
    span = timedelta(microseconds=(end_ns - start_ns) // 1000)
    if span > MAX_SPAN + _TZ_SLACK:
        raise PeriodError("to", f"the period may span at most {MAX_SPAN.days} days, got {span}")
    buckets = span / _STEP[bucket]
    if buckets > MAX_BUCKETS:
        raise PeriodError(
            "to",
            f"at most {MAX_BUCKETS} {bucket} buckets per request, this period has about "
            f"{int(buckets)}; shorten it or use larger buckets",
        )
    return Period(start, end, bucket)


def _date_of(bound: Bound) -> date:
    return bound.date() if isinstance(bound, datetime) else bound


def _is_instant(bound: Bound) -> bool:
    return isinstance(bound, datetime) and bound.tzinfo is not None
