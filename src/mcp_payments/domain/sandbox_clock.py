"""The sandbox clock's rules: how far one advance may move time, and how a duration is read.

A duration is ISO 8601 (P1Y, P1M, P2W, P14D, PT36H, P1DT12H30M5S). Years and months are calendar ones, counted
as billing periods count them: a month from Jan 31 is Feb 28 (or 29). Time only moves forward, and at most two
years per advance: a longer simulation is several calls, each checked.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from mcp_payments.domain.errors import InvalidClockAdvance
from mcp_payments.domain.subscriptions import add_months

MAX_YEARS = 2
# ASCII digits only (\d would take full-width ones), and few of them: no duration is read that could overflow.
_NUMBER = "([0-9]{1,6})"
_DURATION = re.compile(
    rf"P(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?"
)


def latest(now: datetime) -> datetime:
    """The furthest one advance may reach from `now`: two calendar years on (Feb 29 clamps to Feb 28)."""
    return add_months(now, 12 * MAX_YEARS)


def after(now: datetime, duration: str) -> datetime:
    """`now` moved forward by an ISO 8601 duration."""
    match = _DURATION.fullmatch(duration)
    if match is None or duration in ("P", "PT") or duration.endswith("T"):
        raise InvalidClockAdvance(
            f"by={duration!r} is not an ISO 8601 duration: write it like P1Y, P1M, P2W, P14D, PT36H or P1DT12H",
            by=duration,
        )
    years, months, weeks, days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    if not any((years, months, weeks, days, hours, minutes, seconds)):
        raise InvalidClockAdvance(
            f"by={duration!r} moves time by nothing: give a positive duration, such as P1M", by=duration
        )
    if years > MAX_YEARS or months > 12 * MAX_YEARS:
        raise InvalidClockAdvance(_too_far(now), by=duration)
    moved = add_months(now, 12 * years + months)
    return moved + timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


def checked_target(now: datetime, target: datetime) -> datetime:
    """`target`, if one advance from `now` may reach it: later than now, and at most two years on."""
    if target.tzinfo is None:
        raise InvalidClockAdvance("to= needs a time zone, e.g. 2027-01-01T00:00:00Z", to=target.isoformat())
    if target <= now:
        raise InvalidClockAdvance(
            f"the sandbox clock is at {now.isoformat()} and only moves forward: give a later time in to=, or a "
            "positive duration in by=",
            to=target.isoformat(),
            now=now.isoformat(),
        )
    if target > latest(now):
        raise InvalidClockAdvance(_too_far(now), to=target.isoformat(), now=now.isoformat())
    return target


def _too_far(now: datetime) -> str:
    return (
        f"one advance moves the sandbox clock at most {MAX_YEARS} years, to {latest(now).isoformat()}: advance in "
        "several calls"
    )
