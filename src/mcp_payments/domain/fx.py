"""Currency conversion at a configured rate, in exact arithmetic.

A conversion never credits more than the exact value of what it takes. The target amount is the
exact value rounded down to the target's minor unit, and the source amount splits in two: `used`,
the least source amount worth the target amount at the rate (the FX desk receives it), and the
residue, the source minor units that bought nothing (they book to the FX rounding account).
An amount worth less than one minor unit of the target is refused, never rounded up.

Rates are Fractions (units of the target currency per unit of the source currency), so a pair
configured one way converts the other way at exactly 1/rate, with no Decimal precision in between.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

from mcp_payments.domain.errors import FxRateUnavailable, InvalidAmount
from mcp_payments.domain.ledger import Entry
from mcp_payments.domain.money import MAX_BALANCE, Currency, Money

# Significant digits of a rate shown as a decimal when it has no finite decimal form (1/150 -> 0.006666666667),
# as FX desks quote; the exact rate is rate_text's, and every amount is computed from the exact rate.
SHOWN_DIGITS = 10


@dataclass(frozen=True, slots=True)
class Conversion:
    source: Money  # taken from the source wallet
    target: Money  # credited to the destination wallet
    used: Money  # the least source amount worth `target` at `rate`: what the FX desk receives
    rate: Fraction

    @property
    def residue(self) -> Money:
        """Source minor units that bought nothing: they go to the FX rounding account."""
        return self.source - self.used

    def credits_too_much(self) -> bool:
        """True when the target is worth more than `used` at the rate (a correct conversion never is)."""
        return self.target.minor > self.used.minor * minor_rate(self.used.currency, self.target.currency, self.rate)


@dataclass(frozen=True, slots=True)
class Desk:
    """The system accounts a conversion books to."""

    source: str  # the FX position in the source currency
    rounding: str  # the FX rounding account in the source currency
    target: str  # the FX position in the target currency


@dataclass(frozen=True, slots=True)
class ConversionRecord:
    """A conversion as booked: its journal transaction and the two wallets."""

    transaction_id: str
    source_wallet_id: str
    target_wallet_id: str
    conversion: Conversion


@dataclass(frozen=True, slots=True)
class Position:
    """What the FX desk did in one direction of one pair: sums over its conversions."""

    source: str
    target: str
    conversions: int
    received: int  # in the source currency: the sum of `used`
    paid: int  # in the target currency
    residue: int  # in the source currency


def minor_rate(source: Currency, target: Currency, rate: Fraction) -> Fraction:
    """Target minor units per source minor unit."""
    return rate * Fraction(10) ** (target.exponent - source.exponent)


def convert(amount: Money, target: Currency, rate: Fraction) -> Conversion:
    """Convert `amount` at `rate`, rounding down; InvalidAmount when it is worth less than one target minor unit."""
    if amount.minor <= 0:
        raise InvalidAmount(f"only a positive amount converts, got {amount}")
    per_minor = minor_rate(amount.currency, target, rate)
    minor = math.floor(amount.minor * per_minor)
    if minor == 0:
        least = Money(math.ceil(1 / per_minor), amount.currency)
        raise InvalidAmount(
            f"{amount} is worth less than {Money(1, target)} at {describe(rate, amount.currency, target)}; "
            f"convert at least {least}",
            currency=amount.currency.code,
            minimum=least.decimal(),
            minimum_minor=least.minor,
        )
    if minor > MAX_BALANCE:
        raise InvalidAmount(f"{amount} converts to more than the largest supported amount of {target}: send less")
    used = math.ceil(minor / per_minor)
    return Conversion(amount, Money(minor, target), Money(used, amount.currency), rate)


def entries(c: Conversion, source_wallet: str, target_wallet: str, desk: Desk) -> tuple[Entry, ...]:
    """The journal entries of a conversion: they sum to zero in each of the two currencies.

    The destination wallet's entry comes last and the source wallet's first.
    """
    source, target = c.source.currency.code, c.target.currency.code
    rounding = (Entry(desk.rounding, c.residue.minor, source),) if c.residue.minor else ()
    return (
        Entry(source_wallet, -c.source.minor, source),
        Entry(desk.source, c.used.minor, source),
        *rounding,
        Entry(desk.target, -c.target.minor, target),
        Entry(target_wallet, c.target.minor, target),
    )


def integrity_problems(records: Iterable[ConversionRecord], unmatched: Iterable[str]) -> list[str]:
    """Booked conversions that credited more than they took was worth, and those whose journal transaction
    does not have the entries their record describes (`unmatched`, found by comparing them in the database)."""
    problems = []
    for record in records:
        c = record.conversion
        if c.credits_too_much():
            problems.append(
                f"conversion {record.transaction_id} credited {c.target}, more than {c.used} is worth at "
                f"{describe(c.rate, c.source.currency, c.target.currency)}"
            )
    problems += [f"conversion {t}: its journal transaction does not book what its record says" for t in unmatched]
    return problems


class RateTable:
    """The configured rates by pair ("EUR/USD": units of USD per EUR)."""

    def __init__(self, configured: Mapping[str, Decimal | Fraction]) -> None:
        self.rates: dict[tuple[str, str], Fraction] = {}
        for pair, value in configured.items():
            source, slash, target = pair.upper().partition("/")
            if not (slash and len(source) == len(target) == 3):
                raise ValueError(f"FX pair {pair!r} is not like EUR/USD")
            if isinstance(value, Decimal) and not value.is_finite():
                raise ValueError(f"FX rate {pair}={value} is not a finite number")
            if value <= 0:
                raise ValueError(f"FX rate {pair}={value} is not positive")
            self.rates[source, target] = Fraction(value)
        _check_no_round_trip_gains(self.rates)

    def rate(self, source: Currency, target: Currency) -> Fraction:
        """The rate configured for source/target, else exactly 1 / the rate configured for target/source."""
        direct = self.rates.get((source.code, target.code))
        if direct is not None:
            return direct
        inverse = self.rates.get((target.code, source.code))
        if inverse is not None:
            return 1 / inverse
        raise FxRateUnavailable(
            f"no FX rate is configured for {source}->{target}: ask the operator to add one "
            "(MCP_PAYMENTS_FX_RATES) or transfer between wallets of one currency",
            pair=f"{source}/{target}",
        )

    def convert(self, amount: Money, target: Currency) -> Conversion:
        return convert(amount, target, self.rate(amount.currency, target))


def _check_no_round_trip_gains(rates: Mapping[tuple[str, str], Fraction]) -> None:
    """Refuse a table in which some chain of conversions ends with more than it started with.

    Rounding down keeps each conversion from creating value, but rates that contradict each other
    (EUR/USD=1.10 and USD/EUR=0.95) would still pay a round trip. The best product of rates from
    each currency back to itself (Floyd-Warshall over products) must be at most 1.
    """
    edges = dict(rates)
    for (source, target), value in rates.items():
        edges.setdefault((target, source), 1 / value)
    codes = sorted({code for pair in edges for code in pair})
    best: dict[tuple[str, str], Fraction] = {(a, a): Fraction(1) for a in codes}
    for pair, value in edges.items():
        best[pair] = max(best.get(pair, value), value)
    for via in codes:
        for a in codes:
            for b in codes:
                if (a, via) in best and (via, b) in best:
                    through = best[a, via] * best[via, b]
                    if through > best.get((a, b), 0):
                        best[a, b] = through
        gaining = [a for a in codes if best[a, a] > 1]
        if gaining:
            raise ValueError(
                f"the FX rates contradict each other: converting {gaining[0]} through other currencies and back "
                f"returns {float(best[gaining[0], gaining[0]]):.6g} times the amount; configure each pair in one "
                "direction only, or make the two directions' rates multiply to at most 1"
            )


def rate_text(rate: Fraction) -> str:
    """The rate exactly: a decimal when it has a finite one ("150", "1.08"), else a fraction ("1/150")."""
    digits = _decimal_digits(rate.denominator)
    if digits is None:
        return f"{rate.numerator}/{rate.denominator}"
    scaled = rate.numerator * 10**digits // rate.denominator
    text = str(scaled).rjust(digits + 1, "0")
    return f"{text[:-digits]}.{text[-digits:]}" if digits else text


def rate_decimal(rate: Fraction) -> str:
    """The rate as a decimal string: exact when it has a finite decimal form, else rounded half-even to
    SHOWN_DIGITS significant digits."""
    if _decimal_digits(rate.denominator) is not None:
        return rate_text(rate)
    with localcontext() as ctx:
        ctx.prec = SHOWN_DIGITS
        return format((Decimal(rate.numerator) / Decimal(rate.denominator)).normalize(), "f")


def describe(rate: Fraction, source: Currency, target: Currency) -> str:
    """The rate as a person would say it: "150 JPY per USD" for JPY->USD at 1/150 as for USD->JPY at 150.

    Of the rate and its inverse, the one with a finite decimal form, at least 1 if both have one.
    """
    forms = [(rate, target, source), (1 / rate, source, target)]
    finite = [form for form in forms if _decimal_digits(form[0].denominator) is not None] or forms
    value, unit, per = max(finite, key=lambda form: form[0] >= 1)
    return f"{rate_text(value)} {unit} per {per}"


def _decimal_digits(denominator: int) -> int | None:
    """Decimals needed to write 1/denominator exactly, or None when no finite number of them does."""
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    return max(twos, fives) if denominator == 1 else None
