from decimal import Decimal
from fractions import Fraction

import pytest

from mcp_payments.domain import fx
from mcp_payments.domain.errors import FxRateUnavailable, InvalidAmount
from mcp_payments.domain.fx import Conversion, ConversionRecord, Desk, RateTable
from mcp_payments.domain.ledger import Entry, sums_by_currency
from mcp_payments.domain.money import MAX_BALANCE, Currency, Money, currency

USD, JPY, KWD, EUR = currency("USD"), currency("JPY"), currency("KWD"), currency("EUR")
USD_JPY = RateTable({"USD/JPY": Decimal("150")})
DESK = Desk("acc_fx_JPY", "acc_fx_rounding_JPY", "acc_fx_USD")


def jpy(minor: int) -> Money:
    return Money(minor, JPY)


def usd(minor: int) -> Money:
    return Money(minor, USD)


@pytest.mark.parametrize(
    ("amount", "target", "credited", "used"),
    [
        (usd(100), JPY, jpy(150), usd(100)),  # 1.00 USD -> 150 JPY exactly
        (usd(1), JPY, jpy(1), usd(1)),  # 0.01 USD is worth 1.5 JPY: 1 JPY, and the desk keeps the half yen
        (usd(3), JPY, jpy(4), usd(3)),  # 4.5 JPY -> 4; 0.02 USD would buy only 3
        (jpy(2), USD, usd(1), jpy(2)),  # 2 JPY is worth 0.0133 USD -> 0.01 USD
        (jpy(151), USD, usd(100), jpy(150)),  # 1.0066 USD -> 1.00 USD, and 1 JPY bought nothing
        (jpy(299), USD, usd(199), jpy(299)),  # 1.99333 USD -> 1.99 USD: 298 JPY would buy only 1.98
        (jpy(15_000), USD, usd(10_000), jpy(15_000)),
    ],
)
def test_usd_jpy_at_150_rounds_down_both_ways_and_uses_the_least_source_that_buys_the_target(
    amount: Money, target: Currency, credited: Money, used: Money
) -> None:
    conversion = USD_JPY.convert(amount, target)

    assert (conversion.source, conversion.target, conversion.used) == (amount, credited, used)
    assert conversion.residue == amount - used
    assert not conversion.credits_too_much()


def test_one_yen_is_refused_with_the_least_amount_that_converts() -> None:
    with pytest.raises(InvalidAmount) as raised:
        USD_JPY.convert(jpy(1), USD)

    assert raised.value.code == "invalid_amount"
    assert raised.value.message == "1 JPY is worth less than 0.01 USD at 150 JPY per USD; convert at least 2 JPY"
    assert raised.value.details == {"currency": "JPY", "minimum": "2", "minimum_minor": 2}


def test_the_least_amount_named_by_the_refusal_does_convert_and_one_less_does_not() -> None:
    rate = Fraction(2, 3)  # 0.6666 KWD per EUR: 1 EUR cent is worth 6.67 fils, 1 fil is worth 0.15 cent
    with pytest.raises(InvalidAmount, match=r"convert at least 0\.007 KWD") as raised:
        fx.convert(Money(6, KWD), EUR, 1 / rate)

    least = raised.value.details["minimum_minor"]
    assert fx.convert(Money(least, KWD), EUR, 1 / rate).target == Money(1, EUR)
    with pytest.raises(InvalidAmount):
        fx.convert(Money(least - 1, KWD), EUR, 1 / rate)


@pytest.mark.parametrize(
    ("amount", "credited", "used"),
    [
        (Money(1000, KWD), jpy(487), Money(999, KWD)),  # 487.5 JPY -> 487, which 0.999 KWD buys
        (Money(3, KWD), jpy(1), Money(3, KWD)),  # 1.4625 JPY -> 1; 0.002 KWD is worth only 0.975 JPY
        (Money(4103, KWD), jpy(2000), Money(4103, KWD)),  # 2000.2125 -> 2000; 4.102 KWD is worth 1999.725
    ],
)
def test_a_three_decimal_currency_converts_into_a_zero_decimal_one(amount: Money, credited: Money, used: Money) -> None:
    conversion = fx.convert(amount, JPY, Fraction("487.5"))

    assert (conversion.target, conversion.used) == (credited, used)


def test_a_zero_decimal_currency_converts_into_a_three_decimal_one() -> None:
    # 1000 JPY at 1/487.5 is 2.05128 KWD -> 2.051 KWD, bought by 999.8625 -> 1000 JPY.
    conversion = fx.convert(jpy(1000), KWD, 1 / Fraction("487.5"))

    assert (conversion.target, conversion.used, conversion.residue) == (Money(2051, KWD), jpy(1000), jpy(0))


def test_an_inverse_rate_is_exactly_one_over_the_configured_rate() -> None:
    assert USD_JPY.rate(JPY, USD) == Fraction(1, 150)
    assert USD_JPY.rate(USD, JPY) == 150
    # 1/150 cut to any number of decimals is a little less than 1/150: every whole multiple of 150 JPY would
    # then come out one cent short.
    for multiple in (1, 7, 1000, 10**9):
        assert USD_JPY.convert(jpy(150 * multiple), USD).target == usd(100 * multiple)


def test_a_pair_configured_both_ways_converts_at_each_directions_own_rate() -> None:
    table = RateTable({"EUR/USD": Decimal("1.08"), "USD/EUR": Decimal("0.92")})

    assert table.rate(EUR, USD) == Fraction("1.08")
    assert table.rate(USD, EUR) == Fraction("0.92")


def test_a_pair_with_no_rate_either_way_is_fx_rate_unavailable() -> None:
    with pytest.raises(FxRateUnavailable, match="MCP_PAYMENTS_FX_RATES") as raised:
        USD_JPY.convert(Money(100, EUR), USD)

    assert raised.value.details == {"pair": "EUR/USD"}


@pytest.mark.parametrize(
    "rates",
    [
        {"EUR/USD": "1.10", "USD/EUR": "0.95"},  # 1.10 * 0.95 = 1.045: a round trip pays 4.5 %
        {"EUR/USD": "1.10", "USD/JPY": "150", "JPY/EUR": "0.0062"},  # around the triangle: 1.023
        {"USD/USD": "1.01"},
    ],
)
def test_rates_that_let_a_round_trip_end_with_more_are_refused(rates: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="contradict"):
        RateTable({pair: Decimal(value) for pair, value in rates.items()})


def test_rates_whose_round_trips_cost_a_spread_are_accepted() -> None:
    RateTable({"EUR/USD": Decimal("1.10"), "USD/EUR": Decimal("0.90"), "USD/JPY": Decimal("150")})


@pytest.mark.parametrize("value", ["0", "-1.5", "NaN", "Infinity"])
def test_a_rate_that_is_not_a_positive_number_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="EUR/USD"):
        RateTable({"EUR/USD": Decimal(value)})


def test_an_amount_that_converts_beyond_the_largest_amount_is_refused() -> None:
    with pytest.raises(InvalidAmount, match="largest supported amount"):
        USD_JPY.convert(usd(MAX_BALANCE), JPY)


def test_a_conversion_books_the_residue_to_the_rounding_account_and_sums_to_zero_per_currency() -> None:
    conversion = USD_JPY.convert(jpy(151), USD)

    booked = fx.entries(conversion, "wal_jpy", "wal_usd", DESK)

    assert booked == (
        Entry("wal_jpy", -151, "JPY"),
        Entry("acc_fx_JPY", 150, "JPY"),
        Entry("acc_fx_rounding_JPY", 1, "JPY"),
        Entry("acc_fx_USD", -100, "USD"),
        Entry("wal_usd", 100, "USD"),
    )
    assert sums_by_currency(booked) == {"JPY": 0, "USD": 0}


def test_a_conversion_without_residue_has_no_rounding_entry() -> None:
    booked = fx.entries(USD_JPY.convert(jpy(150), USD), "wal_jpy", "wal_usd", DESK)

    assert [e.account_id for e in booked] == ["wal_jpy", "acc_fx_JPY", "acc_fx_USD", "wal_usd"]


def test_the_integrity_problems_name_a_conversion_that_credited_more_than_it_took_was_worth() -> None:
    honest = ConversionRecord("txn_1", "wal_a", "wal_b", USD_JPY.convert(jpy(151), USD))
    generous = ConversionRecord("txn_2", "wal_a", "wal_b", Conversion(jpy(151), usd(101), jpy(151), Fraction(1, 150)))

    problems = fx.integrity_problems([honest, generous], ["txn_3"])

    assert problems == [
        "conversion txn_2 credited 1.01 USD, more than 151 JPY is worth at 150 JPY per USD",
        "conversion txn_3: its journal transaction does not book what its record says",
    ]


@pytest.mark.parametrize(
    ("rate", "text", "decimal"),
    [
        (Fraction(150), "150", "150"),
        (Fraction("1.08"), "1.08", "1.08"),
        (Fraction("0.0025"), "0.0025", "0.0025"),
        (Fraction(1, 150), "1/150", "0.006666666667"),
        (1 / Fraction("1.08"), "25/27", "0.9259259259"),
        (Fraction(2, 3), "2/3", "0.6666666667"),
        (Fraction(1000, 7), "1000/7", "142.8571429"),
    ],
)
def test_a_rate_is_written_exactly_and_as_a_decimal(rate: Fraction, text: str, decimal: str) -> None:
    assert fx.rate_text(rate) == text
    assert Fraction(fx.rate_text(rate)) == rate
    assert fx.rate_decimal(rate) == decimal


@pytest.mark.parametrize(
    ("rate", "source", "target", "said"),
    [
        (Fraction(150), "USD", "JPY", "150 JPY per USD"),
        (Fraction(1, 150), "JPY", "USD", "150 JPY per USD"),
        (Fraction("1.08"), "EUR", "USD", "1.08 USD per EUR"),
        (1 / Fraction("1.08"), "USD", "EUR", "1.08 USD per EUR"),
        (1 / Fraction("0.86"), "GBP", "EUR", "0.86 GBP per EUR"),
        (Fraction(2, 3), "EUR", "KWD", "1.5 EUR per KWD"),
        (Fraction(3, 7), "EUR", "KWD", "7/3 EUR per KWD"),
    ],
)
def test_a_rate_is_described_the_way_round_it_was_configured(
    rate: Fraction, source: str, target: str, said: str
) -> None:
    assert fx.describe(rate, currency(source), currency(target)) == said
