import pytest

from mcp_payments.domain.errors import CurrencyMismatch, InvalidAmount, UnknownCurrency
from mcp_payments.domain.money import (
    LEDGER_LIMIT,
    MAX_AMOUNT,
    MAX_BALANCE,
    AmountInput,
    Currency,
    Money,
    currency,
    parse_amount,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("text", "code", "minor"),
    [
        ("12.34", "USD", 1234),
        ("12", "USD", 1200),
        ("12.3", "USD", 1230),
        ("0.01", "USD", 1),
        ("0012.30", "EUR", 1230),
        (" 5.00 ", "USD", 500),
        ("1234", "JPY", 1234),
        ("1.234", "KWD", 1234),
        ("1.2", "KWD", 1200),
        ("0.001", "KWD", 1),
        ("0.0001", "CLF", 1),
    ],
)
def test_a_decimal_string_becomes_exact_minor_units_of_its_currency(text: str, code: str, minor: int) -> None:
    money = parse_amount(text, None, code)

    assert money == Money(minor, currency(code))


def test_minor_units_are_taken_as_they_are() -> None:
    assert parse_amount(None, 1234, "USD") == Money(1234, Currency("USD", 2))
    assert parse_amount(None, 7, "JPY") == Money(7, Currency("JPY", 0))


def test_currency_exponents_come_from_iso_4217() -> None:
    assert currency("USD") == Currency("USD", 2)
    assert currency("JPY") == Currency("JPY", 0)
    assert currency("KWD") == Currency("KWD", 3)


def test_a_lowercase_currency_code_is_accepted_and_normalized() -> None:
    assert currency("usd") == Currency("USD", 2)
    assert parse_amount("1.00", None, "eur").currency.code == "EUR"


@pytest.mark.parametrize(
    ("text", "code", "allowed"),
    [("0.001", "USD", 2), ("12.345", "EUR", 2), ("1.5", "JPY", 0), ("1.0", "JPY", 0), ("1.2345", "KWD", 3)],
)
def test_more_decimals_than_the_currency_has_is_rejected_never_rounded(text: str, code: str, allowed: int) -> None:
    with pytest.raises(InvalidAmount, match="never rounded") as raised:
        parse_amount(text, None, code)

    assert raised.value.details == {"currency": code, "decimals_allowed": allowed}


@pytest.mark.parametrize(("text", "minor"), [("0", None), ("0.00", None), (None, 0), (None, -5)])
def test_a_zero_or_negative_amount_is_rejected(text: str | None, minor: int | None) -> None:
    with pytest.raises(InvalidAmount, match="greater than zero"):
        parse_amount(text, minor, "USD")


@pytest.mark.parametrize(
    "text",
    ["-1.00", "+1.00", "1e3", "1E-2", "1,000.00", "1 000", ".5", "5.", "", "abc", "NaN", "Infinity", "0x10", "1.2.3"],
)
def test_anything_but_a_plain_positive_decimal_is_rejected(text: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(text, None, "USD")


@pytest.mark.parametrize("text", ["١٢.٣٤", "１２.３４", "12.3\u0664"])
def test_digits_outside_ascii_are_rejected(text: str) -> None:
    with pytest.raises(InvalidAmount, match="plain positive decimal"):
        parse_amount(text, None, "USD")


def test_giving_both_or_neither_form_of_an_amount_is_rejected() -> None:
    with pytest.raises(InvalidAmount, match="exactly one"):
        parse_amount("1.00", 100, "USD")
    with pytest.raises(InvalidAmount, match="exactly one"):
        parse_amount(None, None, "USD")


def test_the_limits_nest_and_stay_inside_what_json_and_64_bit_integers_hold_exactly() -> None:
    assert MAX_AMOUNT == 10**12 - 1  # twelve digits: no single amount can look like a card number
    assert MAX_AMOUNT < MAX_BALANCE < 2**53 - 1
    assert 2 * LEDGER_LIMIT < 2**63 - 1  # a balance plus any posting never overflows a signed 64-bit integer


def test_the_largest_amount_of_one_call_is_max_amount_minor_units() -> None:
    assert parse_amount(None, MAX_AMOUNT, "USD").minor == MAX_AMOUNT
    assert parse_amount("9999999999.99", None, "USD").minor == MAX_AMOUNT
    assert parse_amount("999999999999", None, "JPY").minor == MAX_AMOUNT


@pytest.mark.parametrize(
    ("text", "minor", "code"),
    [
        (None, MAX_AMOUNT + 1, "USD"),
        (None, 2**53 - 1, "USD"),
        (None, 2**63, "USD"),
        ("10000000000.00", None, "USD"),
        ("1000000000000", None, "JPY"),
        ("9999999999999999.999", None, "KWD"),
    ],
)
def test_an_amount_above_the_maximum_of_one_call_is_rejected_naming_the_limit(
    text: str | None, minor: int | None, code: str
) -> None:
    with pytest.raises(InvalidAmount, match="maximum") as raised:
        parse_amount(text, minor, code)

    assert raised.value.details["maximum_minor"] == MAX_AMOUNT


def test_money_itself_refuses_to_exceed_the_ledger_limit_in_either_direction() -> None:
    usd = currency("USD")
    with pytest.raises(InvalidAmount):
        Money(LEDGER_LIMIT + 1, usd)
    with pytest.raises(InvalidAmount):
        Money(-LEDGER_LIMIT - 1, usd)
    with pytest.raises(InvalidAmount):
        Money(LEDGER_LIMIT, usd) + Money(1, usd)


@pytest.mark.parametrize("code", ["ABC", "US", "USDX", "", "123", "€"])
def test_an_unknown_currency_is_rejected_with_a_hint(code: str) -> None:
    with pytest.raises(UnknownCurrency, match="ISO 4217") as raised:
        parse_amount("1.00", None, code)

    assert raised.value.details == {"currency": code}


@pytest.mark.parametrize("code", ["XAU", "XAG", "XDR", "XTS", "XXX"])
def test_a_currency_without_a_minor_unit_such_as_gold_is_rejected(code: str) -> None:
    with pytest.raises(UnknownCurrency, match="no minor unit"):
        currency(code)


@pytest.mark.parametrize(
    ("minor", "code", "decimal", "text"),
    [
        (1230, "USD", "12.30", "12.30 USD"),
        (1, "USD", "0.01", "0.01 USD"),
        (0, "USD", "0.00", "0.00 USD"),
        (-5, "USD", "-0.05", "-0.05 USD"),
        (1234, "JPY", "1234", "1234 JPY"),
        (1, "KWD", "0.001", "0.001 KWD"),
        (-123456, "USD", "-1234.56", "-1234.56 USD"),
        (-7, "JPY", "-7", "-7 JPY"),
        (10_000, "CLF", "1.0000", "1.0000 CLF"),
        (-MAX_BALANCE, "KWD", "-999999999999.999", "-999999999999.999 KWD"),
        (LEDGER_LIMIT, "USD", "9999999999999999.99", "9999999999999999.99 USD"),
    ],
)
def test_money_formats_with_exactly_the_currencys_decimals(minor: int, code: str, decimal: str, text: str) -> None:
    money = Money.of(minor, code)

    assert money.decimal() == decimal
    assert str(money) == text


@pytest.mark.parametrize(("minor", "code"), [(1, "USD"), (1999, "USD"), (5, "JPY"), (1001, "KWD"), (MAX_AMOUNT, "EUR")])
def test_a_formatted_amount_parses_back_to_the_same_money(minor: int, code: str) -> None:
    money = Money.of(minor, code)

    assert parse_amount(money.decimal(), None, code) == money


def test_money_adds_and_subtracts_only_within_one_currency() -> None:
    a, b = Money.of(150, "USD"), Money.of(50, "USD")

    assert a + b == Money.of(200, "USD")
    assert a - b == Money.of(100, "USD")
    assert -a == Money.of(-150, "USD")
    with pytest.raises(CurrencyMismatch):
        a + Money.of(50, "EUR")
    with pytest.raises(CurrencyMismatch):
        a - Money.of(50, "EUR")


def test_an_amount_input_is_parsed_once_its_currency_is_known() -> None:
    assert AmountInput("1.5", None).in_currency("KWD") == Money.of(1500, "KWD")
    assert AmountInput(None, 42).in_currency("JPY") == Money.of(42, "JPY")
    with pytest.raises(InvalidAmount):
        AmountInput("1.5", None).in_currency("JPY")
