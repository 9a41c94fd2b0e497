"""AML monitoring rules: pure evaluation of one wallet's recent movements, in USD terms, when money moves.

Each rule fires when a movement crosses its line (the movement that takes a window past the limit), not on every
movement after it: a wallet that stays busy raises one flag per crossing, and the flag's key names the movement
that crossed, so that a flag is raised once per triggering set (domain/compliance_flags.py).

- large_transaction: one movement of at least `large` (default 10,000.00 USD); one flag per transaction, whichever
  of its wallets is evaluated first.
- structuring: two or more movements in one direction within `structuring_window`, each between
  `structuring_low_percent` and 100% of `large` (just under the threshold), whose sum passes `large`.
- velocity_count / velocity_amount: more than `velocity_count` movements, or more than `velocity_amount` moved in
  both directions together, within `velocity_window`; per wallet, and per customer over its payments.
- rapid_pass_through: money that arrived within `pass_through_window` (at least `pass_through_min` of it) leaves
  again: the outgoing sum reaches `pass_through_percent` of the incoming one.

Amounts in other currencies count at the configured FX rate (the wallets' own, domain/fx.py); a currency without
a rate to USD is not evaluated in USD terms (its movements are skipped, never guessed).

The rules read a History: totals of the windows and the few movements in the structuring band, which the database
sums (a busy wallet's day is thousands of entries: reading them all on every movement would make each movement
slower than the last). History.of computes the same from a list of movements.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from mcp_payments.domain.compliance_flags import Rule, Trigger
from mcp_payments.domain.errors import FxRateUnavailable
from mcp_payments.domain.fx import RateTable, minor_rate
from mcp_payments.domain.money import Currency, currency, format_minor

USD = currency("USD")


@dataclass(frozen=True, slots=True)
class Rules:
    large: int = 1_000_000  # USD cents: 10,000.00
    structuring_low_percent: int = 80
    structuring_window: timedelta = timedelta(hours=24)
    velocity_window: timedelta = timedelta(hours=1)
    velocity_count: int = 30
    velocity_amount: int = 5_000_000  # USD cents: 50,000.00
    pass_through_window: timedelta = timedelta(hours=24)
    pass_through_percent: int = 90
    pass_through_min: int = 100_000  # USD cents: 1,000.00

    @property
    def longest(self) -> timedelta:
        return max(self.structuring_window, self.velocity_window, self.pass_through_window)


@dataclass(frozen=True, slots=True)
class Move:
    """One movement of a wallet, in USD cents: positive arrived, negative left."""

    transaction_id: str
    at: datetime
    usd: int


@dataclass(frozen=True, slots=True)
class History:
    """What the subject did before the current movement, in USD cents."""

    velocity_count: int  # movements within the velocity window
    velocity_sum: int  # moved in and out together within it
    arrived: int  # arrived within the pass-through window
    left: int  # left within it (a positive number)
    band: tuple[Move, ...]  # within the structuring window, of at least the band's low end (either direction)

    @classmethod
    def of(cls, current: Move, earlier: Sequence[Move], rules: Rules) -> History:
        """The history of `current` in a list of earlier movements (any order, `current` not among them)."""

        def within(window: timedelta) -> list[Move]:
            return [m for m in earlier if current.at - window <= m.at <= current.at]

        fast, through = within(rules.velocity_window), within(rules.pass_through_window)
        band = sorted((m for m in within(rules.structuring_window) if abs(m.usd) >= band_low(rules)), key=_when)
        return cls(
            len(fast),
            sum(abs(m.usd) for m in fast),
            sum(m.usd for m in through if m.usd > 0),
            sum(-m.usd for m in through if m.usd < 0),
            tuple(band),
        )


def _when(m: Move) -> datetime:
    return m.at


def band_low(rules: Rules) -> int:
    """The least a movement counts for structuring, in USD cents (rounded up)."""
    return math.ceil(rules.large * rules.structuring_low_percent / 100)


def to_usd(minor: int, of: Currency, rates: RateTable) -> int | None:
    """`minor` units of `of` in USD cents, rounded toward zero; None when no rate to USD is configured."""
    exact = _at_rate(minor, of, USD, rates)
    return None if exact is None else math.trunc(exact)


def from_usd(cents: int, to: Currency, rates: RateTable) -> int | None:
    """`cents` USD in minor units of `to`, rounded down; None when no rate is configured."""
    exact = _at_rate(cents, USD, to, rates)
    return None if exact is None else math.floor(exact)


def _at_rate(minor: int, source: Currency, target: Currency, rates: RateTable) -> Fraction | None:
    """`minor` units of `source` in minor units of `target`, exact; None when no rate is configured."""
    if source == target:
        return Fraction(minor)
    try:
        rate = rates.rate(source, target)
    except FxRateUnavailable:
        return None
    return minor * minor_rate(source, target, rate)


def evaluate(wallet_id: str, current: Move, history: History, rules: Rules) -> list[Trigger]:
    """What `current` triggers on `wallet_id`, given what the wallet did before it."""
    found = [large(wallet_id, current, rules)]
    found.append(_structuring(wallet_id, current, history, rules))
    found += velocity(wallet_id, current, history, rules)
    found.append(_pass_through(wallet_id, current, history, rules))
    return [t for t in found if t is not None]


def _span(window: timedelta) -> str:
    """A window as a person reads it: 24 h, 90 min, 45 s (str(timedelta) would say "1 day, 0:00:00")."""
    seconds = int(window.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _usd(cents: int) -> str:
    return f"{format_minor(cents, USD.exponent)} USD"


def large(subject: str, current: Move, rules: Rules) -> Trigger | None:
    """The large-transaction rule alone: of a wallet's movement, or of a customer's payment (`subject` a cus_ id)."""
    if abs(current.usd) < rules.large:
        return None
    return Trigger(
        Rule.LARGE_TRANSACTION,
        subject,
        f"{Rule.LARGE_TRANSACTION}:{current.transaction_id}",
        f"{current.transaction_id} moved {_usd(abs(current.usd))}, at least the {_usd(rules.large)} threshold",
        (current.transaction_id,),
        {"amount_usd": format_minor(abs(current.usd), 2), "threshold_usd": format_minor(rules.large, 2)},
    )


def _structuring(wallet_id: str, current: Move, history: History, rules: Rules) -> Trigger | None:
    def banded(m: Move) -> bool:
        return band_low(rules) <= abs(m.usd) < rules.large and (m.usd > 0) == (current.usd > 0)

    if not banded(current):
        return None
    band = [m for m in history.band if banded(m)]
    before = sum(abs(m.usd) for m in band)
    after = before + abs(current.usd)
    if not band or not before <= rules.large < after:
        return None
    direction = "in" if current.usd > 0 else "out"
    ids = (*(m.transaction_id for m in band), current.transaction_id)
    return Trigger(
        Rule.STRUCTURING,
        wallet_id,
        f"{Rule.STRUCTURING}:{wallet_id}:{current.transaction_id}",
        f"{len(ids)} movements {direction} of {wallet_id} within {_span(rules.structuring_window)}, each just under "
        f"the {_usd(rules.large)} threshold, add up to {_usd(after)}",
        ids,
        {"direction": direction, "count": len(ids), "sum_usd": format_minor(after, 2)},
    )


def velocity(subject: str, current: Move, history: History, rules: Rules) -> list[Trigger]:
    """The velocity rules alone: of a wallet's movements, or of a customer's payments (`subject` a cus_ id)."""
    found: list[Trigger] = []
    if history.velocity_count == rules.velocity_count:  # this movement is the one past the count
        found.append(
            Trigger(
                Rule.VELOCITY_COUNT,
                subject,
                f"{Rule.VELOCITY_COUNT}:{subject}:{current.transaction_id}",
                f"{subject} moved money {history.velocity_count + 1} times within {_span(rules.velocity_window)}, more "
                f"than {rules.velocity_count}",
                (current.transaction_id,),
                {"count": history.velocity_count + 1, "limit": rules.velocity_count},
            )
        )
    before = history.velocity_sum
    after = before + abs(current.usd)
    if before <= rules.velocity_amount < after:
        found.append(
            Trigger(
                Rule.VELOCITY_AMOUNT,
                subject,
                f"{Rule.VELOCITY_AMOUNT}:{subject}:{current.transaction_id}",
                f"{subject} moved {_usd(after)} within {_span(rules.velocity_window)}, more than "
                f"{_usd(rules.velocity_amount)}",
                (current.transaction_id,),
                {"sum_usd": format_minor(after, 2), "limit_usd": format_minor(rules.velocity_amount, 2)},
            )
        )
    return found


def _pass_through(wallet_id: str, current: Move, history: History, rules: Rules) -> Trigger | None:
    if current.usd >= 0 or history.arrived < rules.pass_through_min:
        return None
    left = history.left - current.usd
    needed = math.ceil(history.arrived * rules.pass_through_percent / 100)
    if not history.left < needed <= left:
        return None
    return Trigger(
        Rule.RAPID_PASS_THROUGH,
        wallet_id,
        f"{Rule.RAPID_PASS_THROUGH}:{wallet_id}:{current.transaction_id}",
        f"{_usd(left)} left {wallet_id} within {_span(rules.pass_through_window)} of {_usd(history.arrived)} arriving "
        f"({rules.pass_through_percent}% or more passed through)",
        (current.transaction_id,),
        {"arrived_usd": format_minor(history.arrived, 2), "left_usd": format_minor(left, 2)},
    )
