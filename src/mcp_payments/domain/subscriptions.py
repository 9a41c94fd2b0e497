"""Plans, subscriptions and invoices: the states, the billing calendar and proration arithmetic (pure).

A subscription moves only along SUBSCRIPTION_TRANSITIONS (Stripe's vocabulary):

    incomplete --pay--> active            incomplete --expire--> incomplete_expired (first invoice unpaid 23 h)
    trialing --pay--> active              trialing | active --fail--> past_due --pay--> active
    past_due --exhaust--> unpaid          unpaid --pay--> active
    trialing | active --pause--> paused --resume--> active
    anything but the two terminal states --cancel--> canceled

Periods are counted from the billing anchor, never from the previous period's end, so that an anchor at a
month's end clamps and comes back: Jan 31 -> Feb 28 (29) -> Mar 31 -> Apr 30.

Rounding rule (the one for all proration): an exact rational amount is rounded half to even to a whole
minor unit, once, at the end.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from mcp_payments.domain.cards import PaymentMethod
from mcp_payments.domain.errors import InvalidAmount, InvalidInput, InvalidStateTransition
from mcp_payments.domain.money import MAX_AMOUNT

INCOMPLETE_TTL = timedelta(hours=23)  # a first invoice unpaid this long expires the subscription
MAX_TRIAL_DAYS = 730


class Interval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


# A period is at most a year, as Stripe has it.
MAX_INTERVAL_COUNT = {Interval.DAY: 365, Interval.WEEK: 52, Interval.MONTH: 12, Interval.YEAR: 1}


@dataclass(frozen=True, slots=True)
class Plan:
    """A price: `amount` minor units of `currency` every `interval_count` intervals. Its price never changes
    once a subscription uses it (`used`); a new price is a new plan."""

    id: str
    name: str
    amount: int
    currency: str
    interval: Interval
    interval_count: int
    trial_days: int
    created_at: datetime
    used: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.amount <= MAX_AMOUNT:
            raise InvalidAmount(f"a plan's amount must be between 1 and {MAX_AMOUNT} minor units")
        if not 1 <= self.interval_count <= MAX_INTERVAL_COUNT[self.interval]:
            raise InvalidInput(
                f"interval_count {self.interval_count} {self.interval}(s) is not between one interval and one year: "
                "use interval=year for a yearly price",
                interval=self.interval.value,
                interval_count=self.interval_count,
            )
        if not 0 <= self.trial_days <= MAX_TRIAL_DAYS:
            raise InvalidInput(f"trial_days must be between 0 and {MAX_TRIAL_DAYS}")


def add_months(anchor: datetime, months: int) -> datetime:
    """`anchor` moved by whole months, its day clamped to the target month's last day (Jan 31 + 1 -> Feb 28)."""
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    day = min(anchor.day, calendar.monthrange(year, month + 1)[1])
    return anchor.replace(year=year, month=month + 1, day=day)


def period_boundary(anchor: datetime, interval: Interval, interval_count: int, n: int) -> datetime:
    """Where period n starts (n = 0 is the anchor), counted from the anchor so that clamped days come back."""
    steps = n * interval_count
    match interval:
        case Interval.DAY:
            return anchor + timedelta(days=steps)
        case Interval.WEEK:
            return anchor + timedelta(weeks=steps)
        case Interval.MONTH:
            return add_months(anchor, steps)
        case Interval.YEAR:
            return add_months(anchor, 12 * steps)


def round_half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half to even, in integers (denominator > 0)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        return quotient + 1
    return quotient


def prorate(amount: int, start: datetime, end: datetime, at: datetime) -> int:
    """The part of `amount` (for the period start..end) that falls in at..end, to the second, rounded half to
    even: the unused time of a price when a plan changes at `at`."""
    if not start <= at <= end or start == end:
        raise InvalidInput("the proration time must fall inside a non-empty period")
    period = int((end - start).total_seconds())
    remaining = int((end - at).total_seconds())
    return round_half_even(amount * remaining, period)


# Declines after which the same card never works: not retried.
HARD_DECLINES = frozenset({"lost_card", "stolen_card", "expired_card"})
# With the renewal's own try: 8 tries within 2 weeks.
DEFAULT_RETRIES = tuple(timedelta(days=d) for d in (1, 2, 3, 5, 7, 10, 14))


@dataclass(frozen=True, slots=True)
class Dunning:
    """When a failed renewal invoice is tried again (`retries`, counted from its first failure), and what the
    subscription becomes after the last failure: canceled (Stripe's default) or unpaid."""

    retries: tuple[timedelta, ...] = DEFAULT_RETRIES
    cancel_after_last: bool = True

    def next_attempt(self, first_failed: datetime, failures: int, decline_code: str | None) -> datetime | None:
        """When to try again after `failures` failed tries; None: that was the last."""
        if decline_code in HARD_DECLINES or failures > len(self.retries):
            return None
        return first_failed + self.retries[failures - 1]


class SubscriptionStatus(StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    CANCELED = "canceled"
    PAUSED = "paused"
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"


class SubscriptionAction(StrEnum):
    PAY = "pay"  # an invoice of it was paid
    FAIL = "fail"  # a renewal's payment failed
    EXHAUST = "exhaust"  # the last retry failed and the setting keeps it as unpaid
    EXPIRE = "expire"  # the first invoice stayed unpaid for 23 h
    CANCEL = "cancel"
    PAUSE = "pause"
    RESUME = "resume"


S, A = SubscriptionStatus, SubscriptionAction

# Every allowed (state, action) and where it leads; anything else is refused.
SUBSCRIPTION_TRANSITIONS: Mapping[tuple[SubscriptionStatus, SubscriptionAction], SubscriptionStatus] = {
    (S.INCOMPLETE, A.PAY): S.ACTIVE,
    (S.INCOMPLETE, A.EXPIRE): S.INCOMPLETE_EXPIRED,
    (S.INCOMPLETE, A.CANCEL): S.CANCELED,
    (S.TRIALING, A.PAY): S.ACTIVE,
    (S.TRIALING, A.FAIL): S.PAST_DUE,
    (S.TRIALING, A.CANCEL): S.CANCELED,
    (S.TRIALING, A.PAUSE): S.PAUSED,
    (S.ACTIVE, A.PAY): S.ACTIVE,
    (S.ACTIVE, A.FAIL): S.PAST_DUE,
    (S.ACTIVE, A.CANCEL): S.CANCELED,
    (S.ACTIVE, A.PAUSE): S.PAUSED,
    (S.PAST_DUE, A.PAY): S.ACTIVE,
    (S.PAST_DUE, A.FAIL): S.PAST_DUE,
    (S.PAST_DUE, A.EXHAUST): S.UNPAID,
    (S.PAST_DUE, A.CANCEL): S.CANCELED,
    (S.UNPAID, A.PAY): S.ACTIVE,
    (S.UNPAID, A.CANCEL): S.CANCELED,
    (S.PAUSED, A.RESUME): S.ACTIVE,
    (S.PAUSED, A.CANCEL): S.CANCELED,
}
TERMINAL = frozenset({S.CANCELED, S.INCOMPLETE_EXPIRED})
RENEWING = frozenset({S.TRIALING, S.ACTIVE, S.PAST_DUE})  # a new period starts when the current one ends
# Periods also go on while paused: each one's invoice is voided, kept as a draft or marked uncollectible.
BILLED = RENEWING | {S.PAUSED}


class PauseCollection(StrEnum):
    """What happens to the invoices of the periods that start while a subscription is paused (Stripe's)."""

    VOID = "void"  # never owed
    KEEP_AS_DRAFT = "keep_as_draft"  # owed: finalized and charged when the subscription resumes
    MARK_UNCOLLECTIBLE = "mark_uncollectible"  # owed on paper, never charged


def next_status(status: SubscriptionStatus, action: SubscriptionAction, subscription_id: str) -> SubscriptionStatus:
    found = SUBSCRIPTION_TRANSITIONS.get((status, action))
    if found is None:
        raise InvalidStateTransition(
            f"subscription {subscription_id} is {status}: it cannot {action}",
            subscription_id=subscription_id,
            status=status.value,
            action=action.value,
        )
    return found


@dataclass(frozen=True, slots=True)
class Subscription:
    """A customer on a plan. The current period is [current_period_start, current_period_end): period n of the
    calendar that starts at `anchor`."""

    id: str
    customer_id: str
    plan_id: str
    status: SubscriptionStatus
    anchor: datetime
    period_index: int
    current_period_start: datetime
    current_period_end: datetime
    trial_end: datetime | None
    method: PaymentMethod  # charged off-session: brand, last4, expiry, fingerprint, never the number
    created_at: datetime
    updated_at: datetime
    canceled_at: datetime | None = None
    cancel_at_period_end: bool = False  # canceled when the current period ends, unless undone before
    pause_collection: PauseCollection | None = None  # set while paused
    resumes_at: datetime | None = None  # while paused: when it resumes by itself (None: when told to)

    def moved(self, action: SubscriptionAction, now: datetime) -> Subscription:
        status = next_status(self.status, action, self.id)
        canceled_at = now if status is S.CANCELED else self.canceled_at
        scheduled = self.cancel_at_period_end and status is not S.CANCELED
        paused = status is S.PAUSED
        return replace(
            self,
            status=status,
            updated_at=now,
            canceled_at=canceled_at,
            cancel_at_period_end=scheduled,
            pause_collection=self.pause_collection if paused else None,
            resumes_at=self.resumes_at if paused else None,
        )

    def with_cancellation_scheduled(self, scheduled: bool, now: datetime) -> Subscription:
        """Cancel at the end of the current period (True), or keep renewing (False). Only a subscription that
        renews can have its end scheduled."""
        if self.status not in RENEWING:
            raise InvalidStateTransition(
                f"subscription {self.id} is {self.status}: only a trialing, active or past_due subscription can be "
                "canceled at period end (or have that undone)",
                subscription_id=self.id,
                status=self.status.value,
            )
        return replace(self, cancel_at_period_end=scheduled, updated_at=now)


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    kind: str  # plan | proration_credit | proration_debit
    description: str
    amount: int  # signed minor units: a credit is negative
    period_start: datetime
    period_end: datetime


@dataclass(frozen=True, slots=True)
class Invoice:
    """What a subscription owes for one period: one per (subscription, period_index), total = sum of lines."""

    id: str
    subscription_id: str
    customer_id: str
    period_index: int
    period_start: datetime
    period_end: datetime
    currency: str
    lines: tuple[InvoiceLine, ...]
    status: InvoiceStatus
    attempts: int
    payment_id: str | None  # the last attempt's payment
    last_decline_code: str | None
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None = None  # dunning: when it is tried again by itself

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)
