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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from mcp_payments.domain.compliance_flags import Rule, Trigger
from mcp_payments.domain.errors import FxRateUnavailable
from mcp_payments.domain.fx import RateTable
from mcp_payments.domain.money import Money, currency, format_minor

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


def to_usd(amount: Money, rates: RateTable) -> int | None:
    """`amount` in USD cents, rounded toward zero; None when no rate to USD is configured."""
    if amount.currency == USD:
        return amount.minor
    try:
        rate = rates.rate(amount.currency, USD)
    except FxRateUnavailable:
        return None
    exact: Fraction = Fraction(amount.minor, 10**amount.currency.exponent) * rate * 10**USD.exponent
    return math.trunc(exact)


def evaluate(wallet_id: str, current: Move, earlier: Sequence[Move], rules: Rules) -> list[Trigger]:
    """What `current` triggers on `wallet_id`, given the wallet's `earlier` movements (any order, at least
    rules.longest back; `current` not among them)."""
    found = [_large(wallet_id, current, rules)]
    found.append(_structuring(wallet_id, current, earlier, rules))
    found += velocity(wallet_id, current, earlier, rules)
    found.append(_pass_through(wallet_id, current, earlier, rules))
    return [t for t in found if t is not None]


def _usd(cents: int) -> str:
    return f"{format_minor(cents, USD.exponent)} USD"


def _within(current: Move, earlier: Sequence[Move], window: timedelta) -> list[Move]:
    return sorted((m for m in earlier if current.at - window <= m.at <= current.at), key=lambda m: m.at)


def _large(wallet_id: str, current: Move, rules: Rules) -> Trigger | None:
    if abs(current.usd) < rules.large:
        return None
    return Trigger(
        Rule.LARGE_TRANSACTION,
        wallet_id,
        f"{Rule.LARGE_TRANSACTION}:{current.transaction_id}",
        f"{current.transaction_id} moved {_usd(abs(current.usd))}, at least the {_usd(rules.large)} threshold",
        (current.transaction_id,),
        {"amount_usd": format_minor(abs(current.usd), 2), "threshold_usd": format_minor(rules.large, 2)},
    )


def _structuring(wallet_id: str, current: Move, earlier: Sequence[Move], rules: Rules) -> Trigger | None:
    low = rules.large * rules.structuring_low_percent / 100

    def banded(m: Move) -> bool:
        return low <= abs(m.usd) < rules.large and (m.usd > 0) == (current.usd > 0)

    if not banded(current):
        return None
    band = [m for m in _within(current, earlier, rules.structuring_window) if banded(m)]
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
        f"{len(ids)} movements {direction} of {wallet_id} within {rules.structuring_window}, each just under the "
        f"{_usd(rules.large)} threshold, add up to {_usd(after)}",
        ids,
        {"direction": direction, "count": len(ids), "sum_usd": format_minor(after, 2)},
    )


def velocity(wallet_id: str, current: Move, earlier: Sequence[Move], rules: Rules) -> list[Trigger]:
    """The velocity rules alone: of a wallet's movements, or of a customer's payments (`wallet_id` a cus_ id)."""
    window = _within(current, earlier, rules.velocity_window)
    found: list[Trigger] = []
    if len(window) == rules.velocity_count:  # this movement is the one past the count
        found.append(
            Trigger(
                Rule.VELOCITY_COUNT,
                wallet_id,
                f"{Rule.VELOCITY_COUNT}:{wallet_id}:{current.transaction_id}",
                f"{wallet_id} moved money {len(window) + 1} times within {rules.velocity_window}, more than "
                f"{rules.velocity_count}",
                (current.transaction_id,),
                {"count": len(window) + 1, "limit": rules.velocity_count},
            )
        )
    before = sum(abs(m.usd) for m in window)
    after = before + abs(current.usd)
    if before <= rules.velocity_amount < after:
        found.append(
            Trigger(
                Rule.VELOCITY_AMOUNT,
                wallet_id,
                f"{Rule.VELOCITY_AMOUNT}:{wallet_id}:{current.transaction_id}",
                f"{wallet_id} moved {_usd(after)} within {rules.velocity_window}, more than "
                f"{_usd(rules.velocity_amount)}",
                (current.transaction_id,),
                {
                    "sum_usd": format_minor(before + abs(current.usd), 2),
                    "limit_usd": format_minor(rules.velocity_amount, 2),
                },
            )
        )
    return found


def _pass_through(wallet_id: str, current: Move, earlier: Sequence[Move], rules: Rules) -> Trigger | None:
    if current.usd >= 0:
        return None
    window = _within(current, earlier, rules.pass_through_window)
    arrived = sum(m.usd for m in window if m.usd > 0)
    if arrived < rules.pass_through_min:
        return None
    left_before = sum(-m.usd for m in window if m.usd < 0)
    left = left_before - current.usd
    needed = math.ceil(arrived * rules.pass_through_percent / 100)
    if not left_before < needed <= left:
        return None
    return Trigger(
        Rule.RAPID_PASS_THROUGH,
        wallet_id,
        f"{Rule.RAPID_PASS_THROUGH}:{wallet_id}:{current.transaction_id}",
        f"{_usd(left)} left {wallet_id} within {rules.pass_through_window} of {_usd(arrived)} arriving "
        f"({rules.pass_through_percent}% or more passed through)",
        (*(m.transaction_id for m in window), current.transaction_id),
        {"arrived_usd": format_minor(arrived, 2), "left_usd": format_minor(left, 2)},
    )
