"""Mandates' pure rules: periods in UTC, what is left, and the first reason a call is refused."""

from datetime import UTC, datetime, timedelta

import pytest

from mcp_payments.domain.errors import (
    CurrencyMismatch,
    InvalidInput,
    MandateExhausted,
    MandateExpired,
    MandateNotFound,
    MandateRevoked,
    PayeeNotAllowed,
)
from mcp_payments.domain.limits import Counts, Spend
from mcp_payments.domain.mandates import Mandate, Period, check_lifetime, debit, next_period, period_start
from mcp_payments.domain.money import Money, currency

NOW = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)
USD = currency("USD")


def mandate(**fields: object) -> Mandate:
    base: dict[str, object] = {
        "id": "mdt_1",
        "principal": "key:bot",
        "currency": "USD",
        "description": "books",
        "max_per_payment": 50_00,
        "max_total": 100_00,
        "period": Period.MONTHLY,
        "expires_at": NOW + timedelta(days=90),
        "created_at": NOW - timedelta(days=1),
        "created_by": "key:lead",
    }
    return Mandate(**{**base, **fields})  # type: ignore[arg-type]


def spend(minor: int, payee: str | None = "wal_1", code: str = "USD") -> Spend:
    return Spend(Money(minor, currency(code)), Counts.SPEND, payee)


def test_periods_are_calendar_periods_in_utc_and_december_rolls_into_january() -> None:
    assert period_start(Period.DAILY, NOW, NOW) == datetime(2026, 12, 31, tzinfo=UTC)
    assert next_period(Period.DAILY, NOW) == datetime(2027, 1, 1, tzinfo=UTC)
    assert next_period(Period.MONTHLY, NOW) == datetime(2027, 1, 1, tzinfo=UTC)
    assert next_period(Period.ONCE, NOW) is None


def test_a_debit_accumulates_in_its_period_and_a_new_period_starts_from_zero() -> None:
    once = debit(mandate(), "key:bot", spend(40_00), NOW)
    twice = debit(once, "key:bot", spend(40_00), NOW)
    assert (twice.spent, twice.remaining(NOW)) == (80_00, 20_00)
    with pytest.raises(MandateExhausted) as error:
        debit(twice, "key:bot", spend(20_01), NOW)
    assert error.value.details["resets_at"] == "2027-01-01T00:00:00+00:00"
    next_month = NOW + timedelta(hours=2)
    assert twice.remaining(next_month) == 100_00
    assert debit(twice, "key:bot", spend(50_00), next_month).spent == 50_00


def test_resets_at_is_none_when_the_mandate_expires_before_the_next_period() -> None:
    assert mandate(expires_at=NOW + timedelta(minutes=5)).resets_at(NOW) is None


@pytest.mark.parametrize(
    ("fields", "call", "principal", "error"),
    [
        ({}, spend(1_00), "key:other", MandateNotFound),
        ({"revoked_at": NOW, "revoked_by": "key:lead"}, spend(1_00), "key:bot", MandateRevoked),
        ({"expires_at": NOW}, spend(1_00), "key:bot", MandateExpired),
        ({}, spend(1_00, code="EUR"), "key:bot", CurrencyMismatch),
        ({"allowed_payees": frozenset({"external"})}, spend(1_00), "key:bot", PayeeNotAllowed),
        ({"allowed_payees": frozenset({"external"})}, spend(1_00, payee=None), "key:bot", PayeeNotAllowed),
        ({}, spend(50_01), "key:bot", MandateExhausted),
    ],
)
def test_each_refusal(fields: dict[str, object], call: Spend, principal: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        debit(mandate(**fields), principal, call, NOW)


@pytest.mark.parametrize(
    "fields",
    [{"max_total": 0}, {"max_total": 10**12}, {"max_per_payment": 100_01}, {"allowed_payees": frozenset({"pay_1"})}],
)
def test_a_mandate_outside_its_bounds_cannot_be_made(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        mandate(**fields)


def test_a_lifetime_is_in_the_future_and_at_most_a_year() -> None:
    check_lifetime(NOW + timedelta(days=366), NOW)
    for bad in (NOW, NOW + timedelta(days=367)):
        with pytest.raises(InvalidInput):
            check_lifetime(bad, NOW)
