"""Spending limits: given a principal's policy, what it has spent and the call in hand, allow, hold or refuse.

A policy belongs to a principal, or to a role as the default for every principal of that role, in one currency.
Money calls count as spend (a transfer, a withdrawal, a charge, a captured hold), as a refund (its own caps), or
not at all (a top-up from outside, a release): each money tool declares which when it is registered. Totals are
rolling windows over recorded spend: the last 24 hours, the last 30 days, per payee over 24 hours, and the
number of counted calls in the last minute (velocity). Everything here is pure: the caller loads the policy and
the usage in the movement's own transaction, with the principal's spending locked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from mcp_payments.domain.errors import InvalidInput, LimitExceeded, PayeeNotAllowed
from mcp_payments.domain.money import Money
from mcp_payments.domain.roles import Role

DAY = timedelta(hours=24)
MONTH = timedelta(days=30)
MINUTE = timedelta(minutes=1)
EXTERNAL = "external"  # the payee of money that leaves the ledger (a withdrawal, a hold captured to outside)
PAYEE = re.compile(r"^(?:(?:wal|cus)_[0-9A-Za-z]{1,40}|external)$")
ROLE_SUBJECT = "role:"  # a policy's subject is a principal (key:bot, local:ann, oauth:sub) or role:<role>
MAX_PAYEES = 100


class Counts(StrEnum):
    """How a money tool's amount counts against its caller's limits."""

    SPEND = "spend"
    REFUND = "refund"
    NONE = "none"  # money arriving from outside, or a step of a movement counted when it began


class Limit(StrEnum):
    """The limits a call can hit, by the name an agent reads in limit_exceeded's details."""

    EXPIRED = "policy_expired"
    PER_CALL = "max_per_call"
    DAILY = "daily"
    MONTHLY = "monthly"
    PER_PAYEE_DAILY = "per_payee_daily"
    VELOCITY = "velocity"
    REFUND_PER_CALL = "refund_max_per_call"
    REFUND_DAILY = "refund_daily"
    APPROVAL = "approval_above"


@dataclass(frozen=True, slots=True)
class Spend:
    """What one call would count: its amount, as spend or refund, and to whom."""

    amount: Money
    counts: Counts
    payee: str | None = None  # wal_..., cus_... or external; None when the call names none


@dataclass(frozen=True, slots=True)
class Policy:
    subject: str  # a principal, or role:<role>
    currency: str
    max_per_call: int | None = None  # every limit in minor units of `currency`; None: no such limit
    daily: int | None = None
    monthly: int | None = None
    per_payee_daily: int | None = None
    velocity: int | None = None  # counted calls per minute
    refund_max_per_call: int | None = None
    refund_daily: int | None = None
    allowed_payees: frozenset[str] | None = None  # None: any payee not denied
    denied_payees: frozenset[str] = frozenset()
    approval_above: int | None = None  # a spend above it waits for another principal's approval
    expires_at: datetime | None = None  # after it, every counted call is refused until a new policy is set
    updated_at: datetime | None = None
    updated_by: str | None = None

    def __post_init__(self) -> None:
        for name in ("max_per_call", "daily", "monthly", "per_payee_daily", "refund_max_per_call", "refund_daily"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise InvalidInput(f"{name} cannot be negative")
        if self.velocity is not None and self.velocity < 0:
            raise InvalidInput("velocity cannot be negative")
        for payee in (*(self.allowed_payees or ()), *self.denied_payees):
            check_payee(payee)
        if len(self.allowed_payees or ()) > MAX_PAYEES or len(self.denied_payees) > MAX_PAYEES:
            raise InvalidInput(f"a payee list holds at most {MAX_PAYEES} entries")

    @property
    def role_default(self) -> bool:
        return self.subject.startswith(ROLE_SUBJECT)


@dataclass(frozen=True, slots=True)
class Usage:
    """What the principal counted in `currency` in each window, up to now, this call excluded."""

    spent_day: int = 0
    spent_month: int = 0
    spent_payee_day: int = 0
    refunded_day: int = 0
    calls_minute: int = 0


@dataclass(frozen=True, slots=True)
class Refusal:
    """A limit the call would pass: its value, what is left of it, and over which window (None: per call)."""

    limit: Limit
    value: int
    remaining: int
    window: timedelta | None


Decision = Refusal | None  # None: allowed


def role_subject(role: Role) -> str:
    return f"{ROLE_SUBJECT}{role.value}"


def check_payee(payee: str) -> str:
    if PAYEE.fullmatch(payee) is None:
        raise InvalidInput(
            f"payee {payee[:60]!r} is not a wallet id (wal_...), a customer id (cus_...) or `external` (money that "
            "leaves the ledger)"
        )
    return payee


def decide(policy: Policy, usage: Usage, spend: Spend, now: datetime, *, approved: bool = False) -> Decision:
    """The first limit this call would pass, or None when every limit allows it. Payee lists raise
    PayeeNotAllowed. Hard limits come first: approval_above only holds a call every other limit allows, and
    `approved` (the call runs because someone approved it) overrides it alone."""
    amount = spend.amount.minor
    if policy.expires_at is not None and now >= policy.expires_at:
        return Refusal(Limit.EXPIRED, 0, 0, None)
    if spend.counts is Counts.REFUND:
        checks = [
            (Limit.REFUND_PER_CALL, policy.refund_max_per_call, 0, None),
            (Limit.VELOCITY, policy.velocity, usage.calls_minute, MINUTE),
            (Limit.REFUND_DAILY, policy.refund_daily, usage.refunded_day, DAY),
        ]
    else:
        _check_payee_lists(policy, spend)
        checks = [
            (Limit.PER_CALL, policy.max_per_call, 0, None),
            (Limit.VELOCITY, policy.velocity, usage.calls_minute, MINUTE),
            (Limit.DAILY, policy.daily, usage.spent_day, DAY),
            (Limit.MONTHLY, policy.monthly, usage.spent_month, MONTH),
            (Limit.PER_PAYEE_DAILY, policy.per_payee_daily, usage.spent_payee_day, DAY),
        ]
    for limit, value, used, window in checks:
        if value is None:
            continue
        wanted = 1 if limit is Limit.VELOCITY else amount
        if used + wanted > value:
            return Refusal(limit, value, max(value - used, 0), window)
    if approved:
        return None
    if spend.counts is Counts.SPEND and policy.approval_above is not None and amount > policy.approval_above:
        return Refusal(Limit.APPROVAL, policy.approval_above, policy.approval_above, None)
    return None


def _check_payee_lists(policy: Policy, spend: Spend) -> None:
    payee = spend.payee
    if payee is not None and payee in policy.denied_payees:
        raise PayeeNotAllowed(
            f"payee_not_allowed: {payee} is on your deny-list for {policy.currency}; pay someone else, or ask an "
            "admin to change your spending policy",
            payee=payee,
            reason="denied",
        )
    if policy.allowed_payees is not None and payee not in policy.allowed_payees:
        named = payee or "a call that names no payee"
        raise PayeeNotAllowed(
            f"payee_not_allowed: {named} is not on your allow-list for {policy.currency} "
            f"({', '.join(sorted(policy.allowed_payees)) or 'empty'}); pay one of those, or ask an admin to add it",
            payee=payee,
            reason="not_allowed",
            allowed=sorted(policy.allowed_payees),
        )


def frees_at(spent: Iterable[tuple[datetime, int]], limit: int, wanted: int, window: timedelta) -> datetime | None:
    """When enough of `spent` (inside the window now) leaves the window for `wanted` more to fit under `limit`;
    None when it never fits (wanted alone is over the limit)."""
    if wanted > limit:
        return None
    rows = sorted(spent)
    total = sum(amount for _, amount in rows)
    for at, amount in rows:
        total -= amount
        if total + wanted <= limit:
            return at + window
    return None  # pragma: no cover  # the loop ends with total 0, and wanted <= limit fits then


def refused(refusal: Refusal, spend: Spend, resets_at: datetime | None, principal: str) -> LimitExceeded:
    """The error an agent reads: which limit, what remains, when it resets, what to do."""
    cur = spend.amount.currency.code
    limit, wanted = refusal.limit, spend.amount

    def money(minor: int) -> str:
        return str(Money(minor, spend.amount.currency))

    if limit is Limit.EXPIRED:
        detail = f"your spending policy for {cur} has expired"
        advice = "ask an admin to set a new one (set_spending_policy, or `mcp-payments limits set`)"
    elif limit is Limit.VELOCITY:
        detail = f"you made {refusal.value} counted {cur} calls in the last minute, your limit"
        advice = "wait a moment and retry"
    elif limit is Limit.APPROVAL:
        detail = f"{money(wanted.minor)} is above your approval threshold of {money(refusal.value)}"
        advice = (
            "this call cannot wait for approval here (it names a raw card number, which is never stored, or "
            "approvals are off): ask for at most that much, use a saved payment method, or ask an admin to raise "
            "approval_above"
        )
    else:
        window = {None: "per-call", DAY: "rolling 24-hour", MONTH: "rolling 30-day"}[refusal.window]
        what = "refund" if limit in (Limit.REFUND_DAILY, Limit.REFUND_PER_CALL) else "spend"
        payee = f" to {spend.payee}" if limit is Limit.PER_PAYEE_DAILY else ""
        detail = (
            f"{money(wanted.minor)} would exceed your {window} {what} limit{payee} of {money(refusal.value)} "
            f"({money(refusal.remaining)} left)"
        )
        advice = "ask for less, or ask an admin to raise the limit"
    when = f"; it frees up at {resets_at.isoformat()}" if resets_at is not None else ""
    return LimitExceeded(
        f"limit_exceeded: {detail}{when}. {advice[0].upper()}{advice[1:]}",
        limit=limit.value,
        # Velocity counts calls; every other limit is an amount of the currency.
        limit_value=refusal.value if limit is Limit.VELOCITY else Money(refusal.value, wanted.currency).decimal(),
        remaining=refusal.remaining if limit is Limit.VELOCITY else Money(refusal.remaining, wanted.currency).decimal(),
        requested=wanted.decimal(),
        currency=cur,
        resets_at=resets_at.isoformat() if resets_at is not None else None,
        principal=principal,
    )
