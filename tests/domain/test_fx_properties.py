"""Properties of conversion: no conversion, and no sequence of them, ends with more value than it started with.

Value is measured exactly (Fractions) in one unit of account: each currency gets one price, and the rate
table is derived from the prices, so it is consistent and a round trip could only gain through rounding.
"""

import math
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_payments.domain import fx
from mcp_payments.domain.errors import InvalidAmount
from mcp_payments.domain.fx import RateTable
from mcp_payments.domain.money import MAX_BALANCE, Currency, Money, currency

CODES = ("USD", "EUR", "JPY", "KWD", "GBP")
CURRENCIES = [currency(code) for code in CODES]

# Prices per major unit, within a factor of 10**4 of each other (1 KWD is about 490 JPY).
prices = st.lists(
    st.fractions(min_value=Fraction(1, 100), max_value=100, max_denominator=10**4), min_size=5, max_size=5
)
minor_amounts = st.integers(min_value=1, max_value=10**12)
steps = st.lists(
    st.tuples(st.sampled_from(CODES), st.sampled_from(CODES), st.integers(min_value=0, max_value=2**64)),
    max_size=30,
)


def table(price: dict[str, Fraction], directions: list[bool]) -> RateTable:
    """One rate per pair, configured one way or the other; the other way is its exact inverse."""
    configured = {}
    pairs = [(a, b) for i, a in enumerate(CODES) for b in CODES[i + 1 :]]
    for (a, b), forward in zip(pairs, directions, strict=True):
        source, target = (a, b) if forward else (b, a)
        configured[f"{source}/{target}"] = price[source] / price[target]
    return RateTable(configured)


def value(money: Money, price: dict[str, Fraction]) -> Fraction:
    return Fraction(money.minor, 10**money.currency.exponent) * price[money.currency.code]


@settings(max_examples=300, deadline=None)
@given(
    price_list=prices,
    directions=st.lists(st.booleans(), min_size=10, max_size=10),
    start=st.sampled_from(CODES),
    amount=minor_amounts,
    moves=steps,
)
def test_no_sequence_of_conversions_ends_with_more_value_than_it_started_with(
    price_list: list[Fraction], directions: list[bool], start: str, amount: int, moves: list[tuple[str, str, int]]
) -> None:
    price = dict(zip(CODES, price_list, strict=True))
    rates = table(price, directions)
    holdings = {code: Money(0, currency(code)) for code in CODES}
    holdings[start] = Money(amount, currency(start))
    started = value(holdings[start], price)
    worth = started

    for source, target, seed in moves:
        held = holdings[source]
        if source == target or held.minor == 0:
            continue
        spend = Money(1 + seed % held.minor, held.currency)
        try:
            conversion = rates.convert(spend, currency(target))
        except InvalidAmount:
            continue
        holdings[source] -= spend
        holdings[target] += conversion.target
        now = sum((value(m, price) for m in holdings.values()), Fraction(0))
        assert now <= worth
        worth = now

    assert worth <= started


@settings(max_examples=300, deadline=None)
@given(
    rate=st.fractions(min_value=Fraction(1, 10**5), max_value=10**5, max_denominator=10**6),
    source=st.sampled_from(CURRENCIES),
    target=st.sampled_from(CURRENCIES),
    amount=minor_amounts,
)
def test_a_conversion_credits_the_exact_value_rounded_down_and_takes_the_least_that_buys_it(
    rate: Fraction, source: Currency, target: Currency, amount: int
) -> None:
    per_minor = rate * Fraction(10) ** (target.exponent - source.exponent)
    exact = amount * per_minor

    try:
        conversion = fx.convert(Money(amount, source), target, rate)
    except InvalidAmount:
        assert math.floor(exact) == 0 or math.floor(exact) > MAX_BALANCE
        return

    assert conversion.target.minor == math.floor(exact)
    assert conversion.target.minor <= conversion.used.minor * per_minor  # never more than `used` is worth
    assert (conversion.used.minor - 1) * per_minor < conversion.target.minor  # and `used` is the least that buys it
    assert 0 <= conversion.residue.minor < amount
    assert not conversion.credits_too_much()
