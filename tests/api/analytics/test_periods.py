"""Periods and buckets in a store's local time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.analytics.periods import (
    BucketSize,
    Period,
    PeriodError,
    bucket_of,
    bucket_starts,
    label,
    local_time,
    make_period,
    to_ns,
    zone,
)

SHANGHAI, PARIS, KOLKATA = zone("Asia/Shanghai"), zone("Europe/Paris"), zone("Asia/Kolkata")
TODAY = date(2026, 11, 26)


def ns(text: str) -> int:
    return to_ns(datetime.fromisoformat(text), UTC)


def test_a_date_is_local_midnight_in_each_stores_timezone() -> None:
    period = make_period(date(2026, 11, 26), None, "hour", today=TODAY)
    assert period.window_ns(SHANGHAI) == (
        ns("2026-11-25T16:00+00:00"),
        ns("2026-11-26T16:00+00:00"),
    )
    assert period.window_ns(PARIS) == (ns("2026-11-25T23:00+00:00"), ns("2026-11-26T23:00+00:00"))


def test_an_instant_is_the_same_everywhere() -> None:
    start = datetime(2026, 11, 26, 8, tzinfo=UTC)
    period = make_period(start, start + timedelta(hours=2), "hour", today=TODAY)
    assert period.window_ns(SHANGHAI) == period.window_ns(PARIS) == period.query_range_ns()


def test_query_range_covers_the_period_in_every_timezone() -> None:
    period = make_period(date(2026, 11, 26), None, "day", today=TODAY)
    low, high = period.query_range_ns()
    for tz in (SHANGHAI, PARIS, zone("Pacific/Kiritimati"), zone("Etc/GMT+12")):
        start, end = period.window_ns(tz)
        assert low <= start and end <= high


def test_hour_buckets_are_local_hours() -> None:
    starts = bucket_starts(*make_period(TODAY, None, "hour", today=TODAY).window_ns(KOLKATA),
                           KOLKATA, "hour")  # fmt: skip
    assert len(starts) == 24
    assert label(starts[0], KOLKATA) == "2026-11-26T00:00:00+05:30"
    assert bucket_of(ns("2026-11-26T04:29:59+00:00"), KOLKATA, "hour") == datetime(2026, 11, 26, 9)
    assert bucket_of(ns("2026-11-26T04:30:00+00:00"), KOLKATA, "hour") == datetime(2026, 11, 26, 10)


def test_week_buckets_start_on_monday() -> None:
    thursday = ns("2026-11-26T12:00:00+00:00")
    assert bucket_of(thursday, SHANGHAI, "week") == datetime(2026, 11, 23)
    assert bucket_of(thursday, SHANGHAI, "day") == datetime(2026, 11, 26)


def test_the_repeated_hour_of_autumn_is_one_bucket() -> None:
    # Paris leaves summer time on 2026-10-25 at 03:00 CEST: 02:00-03:00 happens twice.
    start, end = make_period(date(2026, 10, 25), None, "hour", today=TODAY).window_ns(PARIS)
    assert (end - start) // 3_600_000_000_000 == 25
    starts = bucket_starts(start, end, PARIS, "hour")
    assert len(starts) == 24
    first = bucket_of(ns("2026-10-25T00:30:00+00:00"), PARIS, "hour")
    second = bucket_of(ns("2026-10-25T01:30:00+00:00"), PARIS, "hour")
    assert first == second == datetime(2026, 10, 25, 2)


def test_defaults_are_today_and_a_day_or_a_week() -> None:
    assert make_period(None, None, "hour", today=TODAY) == Period(
        TODAY, TODAY + timedelta(days=1), "hour"
    )
    assert make_period(None, None, "week", today=TODAY).end == TODAY + timedelta(days=7)


@pytest.mark.parametrize(
    ("start", "end", "bucket", "field", "words"),
    [
        (date(2026, 11, 26), date(2026, 11, 26), "day", "to", "after `from`"),
        (date(2026, 11, 26), date(2026, 11, 25), "day", "to", "after `from`"),
        (date(2026, 1, 1), date(2026, 12, 31), "hour", "to", "hour buckets"),
        (date(2020, 1, 1), date(2026, 1, 1), "week", "to", "366 days"),
        (date(1, 1, 1), None, "day", "from", "between"),
        (date(2026, 1, 1), date(9999, 12, 31), "day", "to", "between"),
    ],
)
def test_bad_periods_name_the_field(
    start: date, end: date | None, bucket: BucketSize, field: str, words: str
) -> None:
    with pytest.raises(PeriodError) as caught:
        make_period(start, end, bucket, today=TODAY)
    assert caught.value.field == field and words in caught.value.message


def test_unknown_timezone_is_named() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        zone("Mars/Olympus")


@given(
    st.integers(
        min_value=ns("2020-01-01T00:00:00+00:00"), max_value=ns("2030-01-01T00:00:00+00:00")
    ),
    st.sampled_from(["hour", "day", "week"]),
    st.sampled_from([SHANGHAI, PARIS, KOLKATA, UTC]),
)
def test_every_instant_falls_in_a_listed_bucket(ts_ns: int, size: BucketSize, tz: tzinfo) -> None:
    start = bucket_of(ts_ns, tz, size)
    starts = bucket_starts(ts_ns - 86_400 * 10**9, ts_ns + 1, tz, size)
    assert start in starts and starts == sorted(starts)
    assert start <= local_time(ts_ns, tz) < start + timedelta(days=7)
