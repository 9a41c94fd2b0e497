"""The arithmetic of the analytics: exact rates, the monthly value of a price, and currency conversion.

Nothing here is a float: rates are Decimal strings rounded half to even at RATE_PLACES, money stays in integer
minor units and is rounded half to even once, at the end.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from mcp_payments.domain.errors import InvalidInput
from mcp_payments.domain.money import currency, format_minor
from mcp_payments.domain.subscriptions import Interval, round_half_even

RATE_PLACES = 4  # a rate of 0.6667 is two thirds
_RATE = re.compile(r"^\d{1,12}(\.\d{1,12})?$", re.ASCII)

# A price is spread over the months it pays for. Weeks and days count a year as 52 weeks or 365 days.
MONTHLY_RULE = (
    "MRR normalises each plan's price to a month: a month plan's price / interval_count, a year plan's / "
    "(12 * interval_count), a week plan's * 52 / (12 * interval_count), a day plan's * 365 / (12 * interval_count); "
    "rounded half to even to the minor unit"
)


def ratio(numerator: int, denominator: int) -> str | None:
    """numerator / denominator as a decimal string of RATE_PLACES places (None when there is nothing to divide)."""
    if denominator == 0:
        return None
    exact = Decimal(numerator) / Decimal(denominator)
    return str(exact.quantize(Decimal(1).scaleb(-RATE_PLACES), rounding=ROUND_HALF_EVEN))


def fraction_text(value: Fraction | None) -> str | None:
    if value is None:
        return None
    return ratio(value.numerator, value.denominator)


def monthly(amount: int, interval: str, interval_count: int) -> Fraction:
    """The monthly value of `amount` paid every `interval_count` intervals (MONTHLY_RULE), exactly."""
    per_month = {
        Interval.MONTH: Fraction(1, interval_count),
        Interval.YEAR: Fraction(1, 12 * interval_count),
        Interval.WEEK: Fraction(52, 12 * interval_count),
        Interval.DAY: Fraction(365, 12 * interval_count),
    }[Interval(interval)]
    return amount * per_month


def to_minor(value: Fraction) -> int:
    """An exact amount rounded half to even to a whole minor unit."""
    return round_half_even(value.numerator, value.denominator)


def money_text(value: Fraction | int, code: str) -> str:
    """An amount of minor units (exact or not) as a decimal string of the currency's decimals."""
    minor = value if isinstance(value, int) else to_minor(value)
    return format_minor(minor, currency(code).exponent)


def parse_rates(target: str, rates: Mapping[str, str]) -> dict[str, Fraction]:
    """Rates into `target`: {"EUR": "1.08"} says 1 EUR = 1.08 of the target. The target itself is 1."""
    target = currency(target).code
    parsed: dict[str, Fraction] = {target: Fraction(1)}
    for code, text in rates.items():
        source = currency(code).code
        if not _RATE.match(text) or Decimal(text) == 0:
            raise InvalidInput(
                f'rate {text[:40]!r} for {source} is not a positive decimal such as "1.08" '
                f"(units of {target} per 1 {source})",
                currency=source,
            )
        parsed[source] = Fraction(Decimal(text))
    return parsed


def convert_minor(minor: int, source: str, target: str, rate: Fraction) -> Fraction:
    """`minor` units of `source` in minor units of `target`, exactly (rounded by the caller, once)."""
    shift = currency(target).exponent - currency(source).exponent
    return Fraction(minor) * rate * Fraction(10) ** shift
