"""The fraud score as a pure function: each rule's points and words, the cap, the decision bands, and sameness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from mcp_payments.domain.money import Money
from mcp_payments.domain.risk import CardActivity, CustomerHistory, Decision, Rules, Signals, assess

NOW = datetime(2026, 3, 1, tzinfo=UTC)
QUIET = CardActivity(0, 0, 0)
RULES = Rules()


def signals(
    amount: str = "20.00",
    card: CardActivity = QUIET,
    customer: CustomerHistory | None = None,
    country: str | None = "US",
    currency: str = "USD",
) -> Signals:
    cur = Money.of(0, currency).currency
    minor = int(Decimal(amount) * 10**cur.exponent)
    return Signals(Money(minor, cur), country, card, customer)


def old_customer(paid: int = 0, average: int = 0, country: str | None = "US") -> CustomerHistory:
    return CustomerHistory(NOW - timedelta(days=90), country, paid, average)


def test_a_payment_with_nothing_against_it_scores_zero_and_is_allowed() -> None:
    assert assess(signals(customer=old_customer(5, 2000)), RULES, NOW) == assess(signals(), RULES, NOW)
    assert assess(signals(), RULES, NOW).score == 0
    assert assess(signals(), RULES, NOW).decision is Decision.ALLOW


@pytest.mark.parametrize(("attempts", "points"), [(2, 0), (3, 10), (4, 15), (7, 30), (50, 30)])
def test_velocity_counts_from_the_third_earlier_attempt_and_is_capped(attempts: int, points: int) -> None:
    assert assess(signals(card=CardActivity(attempts, 0, 0)), RULES, NOW).score == points


@pytest.mark.parametrize(("declines", "stopped", "points"), [(2, 0, 0), (3, 0, 30), (4, 1, 60), (9, 0, 80)])
def test_card_testing_counts_small_declines_and_small_attempts_this_score_stopped(
    declines: int, stopped: int, points: int
) -> None:
    a = assess(signals("1.00", card=CardActivity(0, declines, declines, stopped)), RULES, NOW)

    assert a.score == points
    if points:
        assert a.reasons[0].rule == "card_testing"
        assert "of at most 5.00 USD on this card in 60 min" in a.reasons[0].text


def test_a_burst_of_small_declines_with_its_velocity_reaches_the_block_score() -> None:
    a = assess(signals("1.00", card=CardActivity(5, 4, 4, 1)), RULES, NOW)

    assert (a.score, a.decision) == (80, Decision.BLOCK)
    assert [r.rule for r in a.reasons] == ["velocity", "card_testing"]
    assert a.explained().startswith("5 earlier payments on this card in 60 min (+20); card testing: 5 failed")


@pytest.mark.parametrize(("amount", "points"), [("49.99", 0), ("50.00", 20), ("99.99", 20), ("100.00", 30)])
def test_an_amount_against_the_customers_average_counts_from_five_times_it(amount: str, points: int) -> None:
    assert assess(signals(amount, customer=old_customer(3, 1000)), RULES, NOW).score == points


def test_a_history_of_fewer_than_three_payments_says_nothing_about_the_amount() -> None:
    assert assess(signals("500.00", customer=old_customer(2, 1000)), RULES, NOW).score == 0


def test_a_card_from_another_country_than_the_customers_adds_fifteen() -> None:
    a = assess(signals(customer=old_customer(country="DE"), country="BR"), RULES, NOW)

    assert (a.score, a.reasons[0].text) == (15, "card issued in BR, customer in DE")
    assert assess(signals(customer=old_customer(country=None), country="BR"), RULES, NOW).score == 0
    assert assess(signals(customer=old_customer(country="DE"), country=None), RULES, NOW).score == 0


def test_a_new_customer_paying_a_large_amount_adds_twenty_five_in_the_payments_own_currency() -> None:
    new = CustomerHistory(NOW - timedelta(days=2), None, 0, 0)

    assert assess(signals("1000.00", customer=new), RULES, NOW).reasons[0].text == (
        "customer created 2 day(s) ago pays at least 1000.00 USD"
    )
    assert assess(signals("999.99", customer=new), RULES, NOW).score == 0
    assert assess(signals("1000", customer=new, currency="JPY"), RULES, NOW).score == 25  # no decimals to round
    assert assess(signals("1000.00", customer=old_customer()), RULES, NOW).score == 0


def test_the_score_is_capped_at_one_hundred() -> None:
    card = CardActivity(20, 10, 10)
    new = CustomerHistory(NOW, "US", 0, 0)
    assert assess(signals("1000.00", card=card, customer=new, country="MX"), RULES, NOW).score == 100


@pytest.mark.parametrize(("score", "decision"), [(49, "allow"), (50, "review"), (79, "review"), (80, "block")])
def test_the_thresholds_split_scores_into_allow_review_and_block(score: int, decision: str) -> None:
    from mcp_payments.domain.risk import decide

    assert decide(score, RULES).value == decision


@pytest.mark.parametrize(
    "rules",
    [
        {"review": 0},
        {"review": 90, "block": 80},
        {"block": 101},
        {"small": Decimal(0)},
        {"window": timedelta(0)},
    ],
)
def test_rules_out_of_range_are_refused(rules: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="risk"):
        Rules(**rules)  # type: ignore[arg-type]
