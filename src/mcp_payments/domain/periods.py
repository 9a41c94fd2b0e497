"""Calendar buckets in a time zone, as UTC instants: what the analytics queries group rows by.

SQLite knows no time zones, so the database never converts one: the buckets' UTC boundaries are computed here
(zoneinfo knows each DST change) and rows are matched against them. A day is then always a local calendar day,
23 or 25 hours long on the days the clocks change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mcp_payments.domain.errors import InvalidRange

MAX_RANGE_DAYS = 5 * 365 + 2  # five years, leap days included
EARLIEST, LATEST = date(1970, 1, 1), date(2199, 12, 31)
_ZONE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/")


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, Monday to Sunday
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Bucket:
    label: str  # the local date it starts on (2026-03-29), or the month (2026-03)
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive


@dataclass(frozen=True, slots=True)
class DateRange:
    """Local calendar dates first..last, both included, in `zone`."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return local_midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last + timedelta(days=1), self.zone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def buckets(self, granularity: Granularity) -> list[Bucket]:
        """The range cut at local midnights into days, weeks or months; the first and last may be partial."""
        found: list[Bucket] = []
        day = self.first
        while day <= self.last:
            following = next_start(day, granularity)
            label = day.strftime("%Y-%m") if granularity is Granularity.MONTH else day.isoformat()
            upto = min(following, self.last + timedelta(days=1))
            found.append(Bucket(label, local_midnight(day, self.zone), local_midnight(upto, self.zone)))
            day = upto
        return found


def next_start(day: date, granularity: Granularity) -> date:
    match granularity:
        case Granularity.DAY:
            return day + timedelta(days=1)
        case Granularity.WEEK:
            return day + timedelta(days=7 - day.weekday())
        case Granularity.MONTH:
            return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local day starts. Where midnight does not exist (a DST jump at 00:00) zoneinfo gives
    the offset before the jump, which is still monotonic: no bucket overlaps another."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def zone(name: str) -> ZoneInfo:
    """An IANA time zone by name, or an error that says what a name looks like."""
    if not name or len(name) > 64 or not set(name) <= _ZONE_CHARS or ".." in name or name.startswith("/"):
        raise InvalidRange(
            f"time zone {name[:64]!r} is not an IANA name: use one like UTC, Europe/Paris or America/New_York",
            time_zone=name[:64],
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidRange(
            f"time zone {name!r} is unknown: use an IANA name such as UTC, Europe/Paris or America/New_York",
            time_zone=name,
        ) from None


def date_range(first: date | None, last: date | None, tz: ZoneInfo, now: datetime, default_days: int) -> DateRange:
    """first..last (both included); a missing end is today in `tz`, a missing start `default_days` before it."""
    today = now.astimezone(tz).date()
    last = last if last is not None else (today if first is None else max(first, today))
    first = first if first is not None else last - timedelta(days=default_days - 1)
    for day in (first, last):
        if not EARLIEST <= day <= LATEST:
            raise InvalidRange(
                f"{day} is outside {EARLIEST}..{LATEST}: give a date in that span",
                date=day.isoformat(),
            )
    if first > last:
        raise InvalidRange(
            f"start_date {first} is after end_date {last}: give the earlier date first",
            start_date=first.isoformat(),
            end_date=last.isoformat(),
        )
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise InvalidRange(
            f"{first}..{last} is longer than 5 years: ask for at most 5 years at a time",
            start_date=first.isoformat(),
            end_date=last.isoformat(),
        )
    return DateRange(first, last, tz)
