"""Mandates: a bounded authority a human grants one agent principal (in the spirit of AP2's intent mandates).

A mandate names its grantee, one currency, the payees it may pay (or any), a maximum per payment, a maximum in
total per period (once: never resets; daily and monthly: calendar periods in UTC) and an expiry. A money call
that cites it is checked against it instead of the principal's spending policy, and debits it in the same
transaction as the movement (services/mandates.py). Everything here is pure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from mcp_payments.domain.errors import (
    CurrencyMismatch,
    InvalidInput,
    MandateExhausted,
    MandateExpired,
    MandateNotFound,
    MandateRevoked,
    PayeeNotAllowed,
)
from mcp_payments.domain.limits import MAX_PAYEES, Spend, check_payee
from mcp_payments.domain.money import MAX_AMOUNT, Money, currency

PREFIX = "mdt"
MAX_LIFETIME = timedelta(days=366)  # a standing authority is renewed by a human at least yearly


class Period(StrEnum):
    ONCE = "once"  # the total is spent once and never comes back
    DAILY = "daily"  # the total comes back at 00:00 UTC
    MONTHLY = "monthly"  # the total comes back on the 1st of each month, 00:00 UTC


class Status(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Mandate:
    id: str
    principal: str  # the grantee: only its calls may cite the mandate
    currency: str
    description: str
    max_per_payment: int  # minor units of `currency`
    max_total: int  # per period
    period: Period
    expires_at: datetime
    created_at: datetime
    created_by: str
    allowed_payees: frozenset[str] | None = None  # None: any payee
    spent: int = 0  # in the period that starts at period_start
    period_start: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.max_total <= MAX_AMOUNT:
            raise InvalidInput(f"max_total must be between one minor unit and {MAX_AMOUNT} minor units")
        if not 1 <= self.max_per_payment <= self.max_total:
            raise InvalidInput("max_per_payment must be at least one minor unit and at most max_total")
        for payee in self.allowed_payees or ():
            check_payee(payee)
        if len(self.allowed_payees or ()) > MAX_PAYEES:
            raise InvalidInput(f"allowed_payees holds at most {MAX_PAYEES} entries")

    def status(self, now: datetime) -> Status:
        if self.revoked_at is not None:
            return Status.REVOKED
        return Status.EXPIRED if now >= self.expires_at else Status.ACTIVE

    def spent_now(self, now: datetime) -> int:
        """What was spent in the period `now` falls in (0 once a new period began)."""
        return self.spent if self.period_start == period_start(self.period, self.created_at, now) else 0

    def remaining(self, now: datetime) -> int:
        return max(self.max_total - self.spent_now(now), 0)

    def resets_at(self, now: datetime) -> datetime | None:
        """When the total comes back; None for a one-off mandate, or when it expires first."""
        after = next_period(self.period, now)
        return after if after is not None and after < self.expires_at else None


def period_start(period: Period, created_at: datetime, now: datetime) -> datetime:
    now = now.astimezone(UTC)
    if period is Period.ONCE:
        return created_at.astimezone(UTC)
    if period is Period.DAILY:
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_period(period: Period, now: datetime) -> datetime | None:
    start = period_start(period, now, now)
    if period is Period.ONCE:
        return None
    if period is Period.DAILY:
        return start + timedelta(days=1)
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def check_lifetime(expires_at: datetime, now: datetime) -> None:
    if expires_at <= now:
        raise InvalidInput(f"expires_at must be in the future (it is now {now.isoformat()})")
    if expires_at > now + MAX_LIFETIME:
        raise InvalidInput(
            f"expires_at is more than {MAX_LIFETIME.days} days ahead: grant a mandate for at most a year, and renew it"
        )


def not_found(mandate_id: str) -> MandateNotFound:
    """The same answer for an unknown mandate and another principal's: an agent learns nothing of the others."""
    return MandateNotFound(
        f"mandate {mandate_id[:60]} was not found among your mandates: list_mandates shows the ones granted to you",
        mandate_id=mandate_id,
    )


def debit(mandate: Mandate, principal: str, spend: Spend, now: datetime) -> Mandate:
    """The mandate with `spend` debited, or the error that refuses the call."""
    if mandate.principal != principal:
        raise not_found(mandate.id)
    status = mandate.status(now)
    if status is Status.REVOKED:
        raise MandateRevoked(
            f"mandate_revoked: mandate {mandate.id} was revoked at {_iso(mandate.revoked_at)} by "
            f"{mandate.revoked_by}; nothing was paid. Ask a human for a new mandate, or pay without one (your "
            "spending policy applies)",
            mandate_id=mandate.id,
            revoked_at=_iso(mandate.revoked_at),
        )
    if status is Status.EXPIRED:
        raise MandateExpired(
            f"mandate_expired: mandate {mandate.id} expired at {mandate.expires_at.isoformat()}; nothing was paid. "
            "Ask a human for a new mandate, or pay without one (your spending policy applies)",
            mandate_id=mandate.id,
            expires_at=mandate.expires_at.isoformat(),
        )
    amount = spend.amount
    if amount.currency.code != mandate.currency:
        raise CurrencyMismatch(
            f"mandate {mandate.id} is for {mandate.currency}, this call pays {amount.currency.code}: cite a mandate "
            f"in {amount.currency.code}, or pay without one",
            mandate_id=mandate.id,
            mandate_currency=mandate.currency,
            currency=amount.currency.code,
        )
    if mandate.allowed_payees is not None and spend.payee not in mandate.allowed_payees:
        named = spend.payee or "a call that names no payee"
        raise PayeeNotAllowed(
            f"payee_not_allowed: mandate {mandate.id} does not allow paying {named} (it allows "
            f"{', '.join(sorted(mandate.allowed_payees)) or 'no one'}); pay one of those, or pay without the mandate",
            payee=spend.payee,
            reason="not_in_mandate",
            mandate_id=mandate.id,
            allowed=sorted(mandate.allowed_payees),
        )
    cur = currency(mandate.currency)
    if amount.minor > mandate.max_per_payment:
        raise _exhausted(
            mandate,
            now,
            f"{amount} is above its maximum per payment of {Money(mandate.max_per_payment, cur)}; ask for at most "
            "that much",
            spend,
        )
    remaining = mandate.remaining(now)
    if amount.minor > remaining:
        resets = mandate.resets_at(now)
        when = f"it resets at {resets.isoformat()}" if resets is not None else "it does not reset"
        raise _exhausted(mandate, now, f"{amount} is more than the {Money(remaining, cur)} left of it ({when})", spend)
    start = period_start(mandate.period, mandate.created_at, now)
    return replace(mandate, spent=mandate.spent_now(now) + amount.minor, period_start=start)


def _exhausted(mandate: Mandate, now: datetime, why: str, spend: Spend) -> MandateExhausted:
    cur = currency(mandate.currency)
    resets = mandate.resets_at(now)
    return MandateExhausted(
        f"mandate_exhausted: mandate {mandate.id}: {why}. Nothing was paid",
        mandate_id=mandate.id,
        requested=spend.amount.decimal(),
        remaining=Money(mandate.remaining(now), cur).decimal(),
        max_per_payment=Money(mandate.max_per_payment, cur).decimal(),
        currency=mandate.currency,
        resets_at=resets.isoformat() if resets is not None else None,
    )


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
