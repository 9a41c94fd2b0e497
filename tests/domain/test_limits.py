"""The pure rules of spending limits: which limit a call would pass, and when it frees up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mcp_payments.domain.errors import InvalidInput, PayeeNotAllowed
from mcp_payments.domain.limits import (
    DAY,
    Counts,
    Limit,
    Policy,
    Spend,
    Usage,
    check_payee,
    decide,
    frees_at,
    refused,
    role_subject,
)
from mcp_payments.domain.money import Money
from mcp_payments.domain.roles import Role

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def spend(minor: int, payee: str | None = "wal_b", counts: Counts = Counts.SPEND) -> Spend:
    return Spend(Money.of(minor, "USD"), counts, payee)


def policy(**limits: object) -> Policy:
    return Policy("key:bot", "USD", **limits)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("limits", "usage", "amount", "expected"),
    [
        ({}, Usage(), 10**11, None),
        ({"max_per_call": 5000}, Usage(), 5000, None),
        ({"max_per_call": 5000}, Usage(), 5001, (Limit.PER_CALL, 5000)),
        ({"daily": 10000}, Usage(spent_day=9000), 1000, None),
        ({"daily": 10000}, Usage(spent_day=9000), 1001, (Limit.DAILY, 1000)),
        ({"monthly": 10000}, Usage(spent_month=10000), 1, (Limit.MONTHLY, 0)),
        ({"per_payee_daily": 100}, Usage(spent_payee_day=50), 51, (Limit.PER_PAYEE_DAILY, 50)),
        ({"velocity": 3}, Usage(calls_minute=3), 1, (Limit.VELOCITY, 0)),
        ({"daily": 0}, Usage(), 1, (Limit.DAILY, 0)),
        ({"approval_above": 100}, Usage(), 101, (Limit.APPROVAL, 100)),
        # A hard limit comes before the approval threshold: approving could not make the call pass.
        ({"approval_above": 100, "max_per_call": 150}, Usage(), 200, (Limit.PER_CALL, 150)),
        ({"daily": 50, "max_per_call": 10}, Usage(spent_day=100), 20, (Limit.PER_CALL, 10)),
    ],
)
def test_a_spend_is_refused_by_the_first_limit_it_would_pass(
    limits: dict[str, object], usage: Usage, amount: int, expected: tuple[Limit, int] | None
) -> None:
    refusal = decide(policy(**limits), usage, spend(amount), NOW)

    assert (None if refusal is None else (refusal.limit, refusal.remaining)) == expected


def test_an_approved_call_passes_the_approval_threshold_and_no_other_limit() -> None:
    limits = policy(approval_above=100, daily=150)

    assert decide(limits, Usage(), spend(120), NOW, approved=True) is None
    refusal = decide(limits, Usage(spent_day=50), spend(120), NOW, approved=True)
    assert refusal is not None
    assert refusal.limit is Limit.DAILY


def test_refunds_have_their_own_caps_and_ignore_the_spend_limits_and_payee_lists() -> None:
    caps = policy(daily=0, max_per_call=0, refund_daily=1000, refund_max_per_call=600, allowed_payees=frozenset())
    refund = spend(600, payee="cus_x", counts=Counts.REFUND)

    assert decide(caps, Usage(refunded_day=400), refund, NOW) is None
    over = decide(caps, Usage(refunded_day=401), refund, NOW)
    assert over is not None
    assert (over.limit, over.remaining) == (Limit.REFUND_DAILY, 599)
    too_big = decide(caps, Usage(), spend(601, counts=Counts.REFUND), NOW)
    assert too_big is not None
    assert too_big.limit is Limit.REFUND_PER_CALL


def test_an_expired_policy_refuses_everything_it_counts() -> None:
    expired = policy(expires_at=NOW)

    refusal = decide(expired, Usage(), spend(1), NOW)

    assert refusal is not None
    assert refusal.limit is Limit.EXPIRED
    assert decide(policy(expires_at=NOW + DAY), Usage(), spend(1), NOW) is None


def test_payee_lists_deny_first_then_allow_only_those_listed() -> None:
    lists = policy(allowed_payees=frozenset({"wal_a", "wal_b"}), denied_payees=frozenset({"wal_b"}))

    assert decide(lists, Usage(), spend(1, "wal_a"), NOW) is None
    with pytest.raises(PayeeNotAllowed, match="deny-list") as denied:
        decide(lists, Usage(), spend(1, "wal_b"), NOW)
    assert denied.value.details["reason"] == "denied"
    with pytest.raises(PayeeNotAllowed, match="not on your allow-list") as unlisted:
        decide(lists, Usage(), spend(1, None), NOW)
    assert unlisted.value.details["allowed"] == ["wal_a", "wal_b"]


def test_a_window_frees_up_when_enough_of_its_oldest_spend_has_left_it() -> None:
    rows = [(NOW, 50), (NOW + timedelta(hours=1), 30), (NOW + timedelta(hours=2), 20)]

    assert frees_at(rows, 100, 10, DAY) == NOW + DAY
    assert frees_at(rows, 100, 60, DAY) == NOW + timedelta(hours=1) + DAY
    assert frees_at(rows, 100, 100, DAY) == NOW + timedelta(hours=2) + DAY
    assert frees_at(rows, 100, 101, DAY) is None


def test_the_refusal_says_which_limit_what_remains_and_when_it_frees_up() -> None:
    refusal = decide(policy(daily=10000), Usage(spent_day=9500), spend(1000), NOW)
    assert refusal is not None

    error = refused(refusal, spend(1000), NOW + DAY, "key:bot")

    assert error.code == "limit_exceeded"
    assert error.message.startswith(
        "limit_exceeded: 10.00 USD would exceed your rolling 24-hour spend limit of 100.00 USD (5.00 USD left)"
    )
    assert error.details == {
        "limit": "daily",
        "limit_value": "100.00",
        "remaining": "5.00",
        "requested": "10.00",
        "currency": "USD",
        "resets_at": (NOW + DAY).isoformat(),
        "principal": "key:bot",
    }


@pytest.mark.parametrize(
    ("limits", "usage", "words"),
    [
        ({"expires_at": NOW}, Usage(), "has expired"),
        ({"velocity": 1}, Usage(calls_minute=1), "in the last minute"),
        ({"approval_above": 1}, Usage(), "approval threshold"),
        ({"per_payee_daily": 1}, Usage(), "limit to wal_b"),
        ({"monthly": 1}, Usage(), "rolling 30-day"),
    ],
)
def test_each_refusal_explains_itself(limits: dict[str, object], usage: Usage, words: str) -> None:
    refusal = decide(policy(**limits), usage, spend(500), NOW)
    assert refusal is not None

    assert words in refused(refusal, spend(500), None, "key:bot").message


@pytest.mark.parametrize("payee", ["wal_01ABC", "cus_9", "external"])
def test_payees_are_wallets_customers_or_external(payee: str) -> None:
    assert check_payee(payee) == payee


@pytest.mark.parametrize(
    "bad",
    [
        {"daily": -1},
        {"velocity": -1},
        {"allowed_payees": frozenset({"pay_1"})},
        {"denied_payees": frozenset({"EXTERNAL"})},
        {"denied_payees": frozenset(f"wal_{i}" for i in range(101))},
    ],
)
def test_a_policy_with_a_negative_limit_or_a_bad_payee_is_invalid(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        policy(**bad)


def test_a_role_default_is_a_subject_of_its_own() -> None:
    assert role_subject(Role.AGENT) == "role:agent"
    assert Policy("role:agent", "USD").role_default
    assert not policy().role_default
