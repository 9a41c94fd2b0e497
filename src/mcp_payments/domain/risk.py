"""Fraud scoring: a would-be payment's risk, 0 to 100, with the reasons a person can read.

The score is the sum of the points of the rules that fire, capped at 100; the same signals always give the
same score. Each rule reads aggregates of what happened before this payment (services/risk.py gathers them in
the payment's own transaction):

    velocity       attempts on this card (fingerprint) within the window
    card_testing   small attempts on this card within the window that failed: declined by the issuer, or held or
                   refused by this score (a tester held in the review band who keeps probing is then refused)
    amount         this amount against the customer's history of paid amounts in the currency
    country        the card's country against the customer's
    new_customer   a customer created within new_customer_age paying at least `large`

A score at or above `block` refuses the payment (risk_blocked); at or above `review` holds it for approval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from mcp_payments.domain.money import Currency, Money

SCANNED = 20  # a card's latest attempts a score reads: every card rule saturates well within them
HISTORY = 50  # a customer's latest paid payments that say what amount is usual


class Decision(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"  # held for an operator's approval
    BLOCK = "block"  # refused: risk_blocked


@dataclass(frozen=True, slots=True)
class Rules:
    review: int = 50
    block: int = 80
    window: timedelta = timedelta(hours=1)  # of velocity and card testing
    velocity_after: int = 3  # earlier payments on one card within the window before velocity counts
    testing_after: int = 3  # small declines on one card within the window before card testing counts
    # Amounts in units of the payment's own currency (no conversion): card testers probe with small ones; a large
    # one from a new customer is a risk.
    small: Decimal = Decimal("5.00")
    large: Decimal = Decimal("1000.00")
    new_customer_age: timedelta = timedelta(days=7)
    history_min: int = 3  # paid payments before the customer's history says what is usual
    amount_ratio: int = 5  # times the customer's average that is unusual

    def __post_init__(self) -> None:
        if not 1 <= self.review <= self.block <= 100:
            raise ValueError("risk thresholds need 1 <= review <= block <= 100")
        if not (self.small > 0 and self.large > 0 and self.window > timedelta(0)):
            raise ValueError("risk amounts and window must be positive")

    def small_in(self, cur: Currency) -> Money:
        return _in(self.small, cur)

    def large_in(self, cur: Currency) -> Money:
        return _in(self.large, cur)


def _in(value: Decimal, cur: Currency) -> Money:
    """A setting's amount in `cur`'s minor units, rounded down (JPY has none to round)."""
    return Money(int((value * 10**cur.exponent).to_integral_value(ROUND_DOWN)), cur)


@dataclass(frozen=True, slots=True)
class CardActivity:
    """What a card (fingerprint) did within the window before this payment."""

    attempts: int  # payments created with it, whatever became of them, and payments this score held or refused
    declines: int
    small_declines: int  # declines of at most Rules.small, in the payment's currency
    small_stopped: int = 0  # payments of at most Rules.small that this score held or refused

    @property
    def small_failures(self) -> int:
        return self.small_declines + self.small_stopped


@dataclass(frozen=True, slots=True)
class CustomerHistory:
    created_at: datetime
    country: str | None
    paid_count: int  # succeeded or authorized payments in the payment's currency
    paid_average: int  # their average amount, minor units (0 when none)


@dataclass(frozen=True, slots=True)
class Signals:
    amount: Money
    card_country: str | None
    card: CardActivity
    customer: CustomerHistory | None  # None: the payment names no customer


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str  # velocity | card_testing | amount | country | new_customer
    points: int
    text: str


@dataclass(frozen=True, slots=True)
class Assessment:
    score: int
    decision: Decision
    reasons: tuple[Reason, ...]

    def explained(self) -> str:
        """The reasons as one sentence, for a message."""
        if not self.reasons:
            return "no rule fired"
        return "; ".join(f"{r.text} (+{r.points})" for r in self.reasons)


def assess(signals: Signals, rules: Rules, now: datetime) -> Assessment:
    """Score a would-be payment from its signals: the points of every rule that fires, at most 100."""
    reasons = [
        r
        for r in (
            _velocity(signals.card, rules),
            _card_testing(signals.card, signals.amount, rules),
            _amount(signals, rules),
            _country(signals),
            _new_customer(signals, rules, now),
        )
        if r is not None
    ]
    score = min(100, sum(r.points for r in reasons))
    return Assessment(score, decide(score, rules), tuple(reasons))


def decide(score: int, rules: Rules) -> Decision:
    if score >= rules.block:
        return Decision.BLOCK
    if score >= rules.review:
        return Decision.REVIEW
    return Decision.ALLOW


def _minutes(window: timedelta) -> str:
    return f"{int(window.total_seconds() // 60)} min"


def _velocity(card: CardActivity, rules: Rules) -> Reason | None:
    if card.attempts < rules.velocity_after:
        return None
    points = min(30, 10 + 5 * (card.attempts - rules.velocity_after))
    many = f"{card.attempts}{' or more' if card.attempts >= SCANNED else ''}"
    return Reason("velocity", points, f"{many} earlier payments on this card in {_minutes(rules.window)}")


def _card_testing(card: CardActivity, amount: Money, rules: Rules) -> Reason | None:
    failures = card.small_failures
    if failures < rules.testing_after:
        return None
    points = min(80, 30 + 15 * (failures - rules.testing_after))
    small = rules.small_in(amount.currency)
    held = f", {card.small_stopped} held or refused" if card.small_stopped else ""
    return Reason(
        "card_testing",
        points,
        f"card testing: {failures} failed attempts of at most {small} on this card in {_minutes(rules.window)} "
        f"({card.small_declines} declined{held})",
    )


def _amount(signals: Signals, rules: Rules) -> Reason | None:
    history = signals.customer
    if history is None or history.paid_count < rules.history_min or history.paid_average <= 0:
        return None
    ratio = signals.amount.minor / history.paid_average
    if ratio < rules.amount_ratio:
        return None
    points = 30 if ratio >= 2 * rules.amount_ratio else 20
    average = Money(history.paid_average, signals.amount.currency)
    return Reason(
        "amount",
        points,
        f"amount is {ratio:.1f}x the customer's average of {average} over their last {history.paid_count} paid "
        "payments",
    )


def _country(signals: Signals) -> Reason | None:
    history, card = signals.customer, signals.card_country
    if history is None or history.country is None or card is None or card == history.country:
        return None
    return Reason("country", 15, f"card issued in {card}, customer in {history.country}")


def _new_customer(signals: Signals, rules: Rules, now: datetime) -> Reason | None:
    history = signals.customer
    large = rules.large_in(signals.amount.currency)
    if history is None or signals.amount.minor < large.minor:
        return None
    age = now - history.created_at
    if age >= rules.new_customer_age:
        return None
    days = max(0, age.days)
    return Reason("new_customer", 25, f"customer created {days} day(s) ago pays at least {large}")
