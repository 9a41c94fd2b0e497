"""Retry schedules and the masking of recorded errors (no database)."""

from datetime import UTC, datetime, timedelta

import pytest

from mcp_payments.domain.errors import InsufficientFunds
from mcp_payments.services.jobs import MAX_ERROR, Retry, describe, mask

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_retries_double_from_the_base_up_to_the_cap_and_park_at_the_last_attempt() -> None:
    retry = Retry(timedelta(seconds=30), timedelta(minutes=5), max_attempts=7)

    delays = [retry.next_attempt(n, NOW) for n in range(1, 8)]

    assert [d - NOW if d else None for d in delays] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(seconds=240),
        timedelta(minutes=5),
        timedelta(minutes=5),
        None,
    ]
    assert retry.next_attempt(10_000, NOW) is None


def test_a_long_schedule_stays_at_its_cap() -> None:
    retry = Retry(timedelta(seconds=1), timedelta(hours=1), max_attempts=1_000)

    assert retry.next_attempt(999, NOW) == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("base", "cap", "attempts"),
    [(timedelta(0), timedelta(1), 3), (timedelta(seconds=9), timedelta(seconds=8), 3), (timedelta(1), timedelta(1), 0)],
)
def test_a_retry_schedule_that_cannot_work_is_refused(base: timedelta, cap: timedelta, attempts: int) -> None:
    with pytest.raises(ValueError, match="job retries"):
        Retry(base, cap, attempts)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("card 4242 4242 4242 4242 refused", "card ****4242 refused"),
        ("order 1234567890123456789 stuck", "order ****6789 stuck"),
        ("signed with whsec_abcdefgh123", "signed with [secret]"),
        ("postgresql://app:hunter2@db:5432/pay down", "postgresql://app:[secret]@db:5432/pay down"),
        ("login failed: password=hunter2 user=app", "login failed: password=[secret] user=app"),
        ("amount 12.34 USD", "amount 12.34 USD"),
    ],
)
def test_a_recorded_error_keeps_no_card_number_secret_password_or_long_number(text: str, kept: str) -> None:
    assert mask(text, secrets=["whsec_abcdefgh123"]) == kept


def test_a_recorded_error_is_cut_to_its_column() -> None:
    assert len(mask("x" * 10_000)) == MAX_ERROR


def test_a_domain_error_is_kept_as_its_code_and_message_and_anything_else_as_its_type_only() -> None:
    domain, none = describe(InsufficientFunds("wallet wal_1 has 1.00 USD available"))
    other, incident = describe(ValueError("SELECT secret FROM t"))

    assert (domain, none) == ("insufficient_funds: wallet wal_1 has 1.00 USD available", None)
    assert other == f"ValueError (incident {incident}: the details are in the worker's log)"
