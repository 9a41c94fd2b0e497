"""What a demo history holds: its size, its span, and the mixes it draws from (all fixed by the seed)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mcp_payments.domain.subscriptions import Interval

MAX_PAYMENTS = 5_000_000
MAX_MONTHS = 60  # the analytics tools refuse ranges over five years


@dataclass(frozen=True, slots=True)
class DemoSpec:
    payments: int  # every payment of the history, the subscriptions' invoice payments included
    seed: int
    months: int
    end: datetime  # the history ends here (exclusive); it starts `months` months before

    def __post_init__(self) -> None:
        if not 1 <= self.payments <= MAX_PAYMENTS:
            raise ValueError(f"payments must be between 1 and {MAX_PAYMENTS:,}, not {self.payments:,}")
        if not 1 <= self.months <= MAX_MONTHS:
            raise ValueError(f"months must be between 1 and {MAX_MONTHS}, not {self.months}")
        if self.end.tzinfo is None:
            raise ValueError("the end of the history must be an aware datetime")

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=round(self.months * 30.4375))

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def today_utc(now: datetime) -> datetime:
    """Midnight UTC of `now`'s day: the default end, so that runs on one day agree to the microsecond."""
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


# The sandbox's test tokens (adapters/providers/sandbox.py) with their share of one-off payments. Card numbers
# stay in the provider's table; a history row keeps brand, last4 and fingerprint, as a real payment does.
CARD_MIX: tuple[tuple[str, str, str, float], ...] = (
    # token, card number, scenario, share
    ("pm_card_visa", "4242424242424242", "succeeds", 0.60),
    ("pm_card_mastercard", "5555555555554444", "succeeds", 0.22),
    ("pm_card_chargeDeclined", "4000000000000002", "declined:card_declined", 0.030),
    ("pm_card_chargeDeclinedInsufficientFunds", "4000000000009995", "declined:insufficient_funds", 0.035),
    ("pm_card_chargeDeclinedLostCard", "4000000000009987", "declined:lost_card", 0.004),
    ("pm_card_chargeDeclinedStolenCard", "4000000000009979", "declined:stolen_card", 0.003),
    ("pm_card_chargeDeclinedExpiredCard", "4000000000000069", "declined:expired_card", 0.012),
    ("pm_card_chargeDeclinedIncorrectCvc", "4000000000000127", "declined:incorrect_cvc", 0.008),
    ("pm_card_chargeDeclinedProcessingError", "4000000000000119", "declined:processing_error", 0.006),
    ("pm_card_threeDSecureRequired", "4000002760003184", "requires_action", 0.050),
    ("pm_card_refundFail", "4000000000005126", "refund_fails", 0.010),
    ("pm_card_createDispute", "4000000000000259", "disputed", 0.012),
)

# currency, share, typical amount in minor units (the median of a log-normal), its exponent
CURRENCY_MIX: tuple[tuple[str, float, int], ...] = (
    ("USD", 0.70, 4_500),
    ("EUR", 0.20, 4_000),
    ("GBP", 0.07, 3_500),
    ("JPY", 0.03, 5_000),
)

THREE_D_SECURE_COMPLETED = 0.78  # the rest stay in requires_action: abandoned checkouts
REFUNDED = 0.06  # of captured payments; half of them in full
WEEKDAY = (1.05, 1.10, 1.08, 1.10, 1.20, 0.80, 0.67)  # Monday .. Sunday
GROWTH = 0.9  # the last day sells this much more than the first


@dataclass(frozen=True, slots=True)
class PlanSpec:
    key: str
    name: str
    amount: int
    currency: str
    interval: Interval
    tier: int  # upgrades move up a tier in the same currency and interval


PLANS: tuple[PlanSpec, ...] = (
    PlanSpec("starter", "Starter", 900, "USD", Interval.MONTH, 0),
    PlanSpec("growth", "Growth", 2_900, "USD", Interval.MONTH, 1),
    PlanSpec("scale", "Scale", 9_900, "USD", Interval.MONTH, 2),
    PlanSpec("growth_yearly", "Growth yearly", 29_000, "USD", Interval.YEAR, 1),
    PlanSpec("starter_eur", "Starter EUR", 900, "EUR", Interval.MONTH, 0),
    PlanSpec("growth_eur", "Growth EUR", 2_900, "EUR", Interval.MONTH, 1),
)
PLAN_WEIGHTS = (0.40, 0.25, 0.08, 0.07, 0.12, 0.08)
TRIAL_DAYS = 14
TRIALING = 0.35  # of new subscriptions
TRIAL_CONVERTS = 0.70
MONTHLY_CHURN = 0.035
UPGRADE = 0.04  # per renewal
DOWNGRADE = 0.015


def pick(rng: random.Random, weights: tuple[float, ...]) -> int:
    """An index drawn by weight (weights need not sum to 1)."""
    x = rng.random() * sum(weights)
    for i, w in enumerate(weights):
        x -= w
        if x < 0:
            return i
    return len(weights) - 1


def amount_of(rng: random.Random, median_minor: int) -> int:
    """A log-normal amount in minor units: most small, a long tail of large baskets (never below 1.00)."""
    minor = int(median_minor * math.exp(rng.gauss(0.0, 0.85)))
    return max(100, min(minor, median_minor * 60))


def daily_counts(total: int, days: int, start: datetime) -> list[int]:
    """`total` spread over `days`: growing, with a weekly rhythm; exact (largest remainders)."""
    weights = [
        (1 + GROWTH * d / max(days - 1, 1)) * WEEKDAY[(start + timedelta(days=d)).weekday()] for d in range(days)
    ]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    by_remainder = sorted(range(days), key=lambda d: (counts[d] - weights[d] * scale, d))
    for d in by_remainder[: total - sum(counts)]:
        counts[d] += 1
    return counts
