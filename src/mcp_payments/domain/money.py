"""Money as integer minor units of an ISO 4217 currency; never a float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import iso4217

from mcp_payments.domain.errors import CurrencyMismatch, InvalidAmount, UnknownCurrency

# The limits of the ledger, in minor units of any currency. All stay below 2**53 (the largest integer a
# JSON client in JavaScript holds exactly) except LEDGER_LIMIT, which keeps every sum of a balance and a
# posting inside a signed 64-bit integer (SQLite would silently turn an overflow into a float).
MAX_AMOUNT = 999_999_999_999  # one amount a tool takes: twelve digits, so no amount looks like a card number
MAX_BALANCE = 999_999_999_999_999  # what one wallet may hold
LEDGER_LIMIT = 999_999_999_999_999_999  # the most any account, system accounts included, may hold or owe
# ASCII only: \d would also take Arabic-Indic or full-width digits, which int() then accepts.
_DECIMAL = re.compile(r"^(?P<int>\d{1,16})(?:\.(?P<frac>\d{1,6}))?$", re.ASCII)


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    exponent: int

    def __str__(self) -> str:
        return self.code


@cache
def currency(code: str) -> Currency:
    """The ISO 4217 currency for `code`, or UnknownCurrency."""
    try:
        entry = iso4217.Currency(code.upper())
    except ValueError:
        raise UnknownCurrency(
            f"unknown currency {code!r}: use a three-letter ISO 4217 code such as USD, EUR or JPY",
            currency=code,
        ) from None
    if entry.exponent is None:
        raise UnknownCurrency(
            f"{entry.code} has no minor unit (a commodity or fund code) and cannot be paid: use a national currency",
            currency=entry.code,
        )
    return Currency(entry.code, int(entry.exponent))


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: Currency

    def __post_init__(self) -> None:
        if abs(self.minor) > LEDGER_LIMIT:
            raise InvalidAmount(f"amount is beyond the ledger's limit of {LEDGER_LIMIT} minor units")

    @classmethod
    def of(cls, minor: int, code: str) -> Money:
        return cls(minor, currency(code))

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")

    def decimal(self) -> str:
        """The amount as a decimal string with exactly the currency's decimals: "12.30"."""
        return format_minor(self.minor, self.currency.exponent)

    def __str__(self) -> str:
        return f"{self.decimal()} {self.currency}"


def format_minor(minor: int, exponent: int) -> str:
    """Integer minor units as a decimal string with exactly `exponent` decimals: (-1230, 2) -> "-12.30"."""
    if exponent == 0:
        return str(minor)
    whole, frac = divmod(abs(minor), 10**exponent)
    return f"{'-' if minor < 0 else ''}{whole}.{frac:0{exponent}d}"


@dataclass(frozen=True, slots=True)
class AmountInput:
    """An amount as the caller wrote it, before its currency is known (e.g. a capture of a hold)."""

    decimal: str | None
    minor: int | None

    def in_currency(self, code: str) -> Money:
        return parse_amount(self.decimal, self.minor, code)


def parse_amount(amount: str | None, amount_minor: int | None, code: str) -> Money:
    """A positive amount given either as a decimal string or as integer minor units.

    Too many decimals is an error, never a rounding: "0.001" USD is rejected.
    """
    cur = currency(code)
    if (amount is None) == (amount_minor is None):
        raise InvalidAmount(
            'give exactly one of `amount` (a decimal string such as "12.34") '
            "or `amount_minor` (an integer of minor units such as 1234)"
        )
    if amount_minor is not None:
        minor = amount_minor
    else:
        assert amount is not None
        minor = _parse_decimal(amount.strip(), cur)
    if minor <= 0:
        raise InvalidAmount(f"amount must be greater than zero, got {minor} minor units of {cur}")
    if minor > MAX_AMOUNT:
        raise too_large(cur)
    return Money(minor, cur)


def parse_limit(text: str, code: str) -> int:
    """A limit written as a decimal string ("100.00"): like an amount, but zero is allowed (nothing may pass)."""
    return _parse_decimal(text.strip(), currency(code))


def too_large(cur: Currency) -> InvalidAmount:
    limit = Money(MAX_AMOUNT, cur)
    return InvalidAmount(
        f"amount is larger than the maximum of {limit} ({MAX_AMOUNT} minor units) for one call: split it into "
        "several calls",
        maximum=limit.decimal(),
        maximum_minor=MAX_AMOUNT,
        currency=cur.code,
    )


def _parse_decimal(text: str, cur: Currency) -> int:
    match = _DECIMAL.match(text)
    if match is None:
        raise InvalidAmount(
            f'amount {text[:40]!r} is not a plain positive decimal: write it like "12.34" '
            "(digits, an optional point and decimals; no sign, exponent or separators)"
        )
    frac = match.group("frac") or ""
    if len(frac) > cur.exponent:
        raise InvalidAmount(
            f"{cur} has {cur.exponent} decimal places but {text!r} has {len(frac)}; "
            "amounts are never rounded: send the exact amount",
            currency=cur.code,
            decimals_allowed=cur.exponent,
        )
    minor: int = int(match.group("int")) * 10**cur.exponent + int(frac.ljust(cur.exponent, "0") or "0")
    if minor > MAX_AMOUNT:
        raise too_large(cur)
    return minor
