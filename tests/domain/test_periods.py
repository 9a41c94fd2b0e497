"""Calendar buckets in a time zone: local days are 23 or 25 hours on DST days, weeks and months are cut at local
midnight, and the range's bounds are checked (pure: the database only compares against these instants)."""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest

from mcp_payments.domain.errors import InvalidRange
from mcp_payments.domain.periods import Granularity, date_range, zone

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def hours(first: date, last: date, tz: str, granularity: Granularity = Granularity.DAY) -> list[float]:
    buckets = date_range(first, last, zone(tz), NOW, 30).buckets(granularity)
    assert all(a.end == b.start for a, b in pairwise(buckets)), "contiguous, no overlap"
    return [(b.end - b.start) / timedelta(hours=1) for b in buckets]


def test_new_york_days_are_23_hours_in_spring_and_25_in_autumn() -> None:
    assert hours(date(2026, 3, 7), date(2026, 3, 9), "America/New_York") == [24, 23, 24]
    assert hours(date(2026, 10, 31), date(2026, 11, 2), "America/New_York") == [24, 25, 24]
    [spring] = date_range(date(2026, 3, 8), date(2026, 3, 8), zone("America/New_York"), NOW, 1).buckets(Granularity.DAY)
    assert (spring.start, spring.end) == (datetime(2026, 3, 8, 5, tzinfo=UTC), datetime(2026, 3, 9, 4, tzinfo=UTC))


def test_a_zone_whose_clocks_skip_midnight_still_gets_ordered_days() -> None:
    # Santiago springs forward at 24:00 on 2026-09-05: 2026-09-06 has no midnight and 23 hours.
    assert hours(date(2026, 9, 5), date(2026, 9, 7), "America/Santiago") == [24, 23, 24]


def test_half_hour_offsets_and_lord_howes_half_hour_dst() -> None:
    assert hours(date(2026, 10, 3), date(2026, 10, 5), "Australia/Lord_Howe") == [24, 23.5, 24]
    [day] = date_range(date(2026, 1, 1), date(2026, 1, 1), zone("Asia/Kolkata"), NOW, 1).buckets(Granularity.DAY)
    assert day.start == datetime(2025, 12, 31, 18, 30, tzinfo=UTC)


def test_weeks_start_on_monday_and_months_on_the_first_with_partial_ends() -> None:
    weeks = date_range(date(2026, 3, 6), date(2026, 3, 24), zone("UTC"), NOW, 1).buckets(Granularity.WEEK)
    assert [b.label for b in weeks] == ["2026-03-06", "2026-03-09", "2026-03-16", "2026-03-23"]
    months = date_range(date(2026, 11, 15), date(2027, 1, 10), zone("Europe/Paris"), NOW, 1).buckets(Granularity.MONTH)
    assert [b.label for b in months] == ["2026-11", "2026-12", "2027-01"]
    assert months[-1].end == datetime(2027, 1, 10, 23, tzinfo=UTC)


def test_defaults_are_the_last_days_up_to_today_in_the_zone() -> None:
    late = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)  # already 2 June in Tokyo
    r = date_range(None, None, zone("Asia/Tokyo"), late, 30)
    assert (r.first, r.last, r.days) == (date(2026, 5, 4), date(2026, 6, 2), 30)


@pytest.mark.parametrize(
    ("first", "last", "words"),
    [
        (date(2026, 3, 2), date(2026, 3, 1), "after end_date"),
        (date(2021, 1, 1), date(2026, 1, 3), "longer than 5 years"),
        (date(1969, 12, 31), date(1970, 1, 1), "outside"),
    ],
)
def test_bad_ranges_are_refused_saying_what_to_ask(first: date, last: date, words: str) -> None:
    with pytest.raises(InvalidRange, match=words):
        date_range(first, last, zone("UTC"), NOW, 30)


def test_five_years_with_their_leap_day_are_allowed() -> None:
    assert date_range(date(2024, 1, 1), date(2028, 12, 31), zone("UTC"), NOW, 30).days == 1827
