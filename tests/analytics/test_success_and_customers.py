"""get_payment_success_rates and get_customer_insights against the hand-built history (history.py)."""

from fractions import Fraction

import pytest

from mcp_payments.domain.subscriptions import round_half_even
from tests.analytics.history import build
from tests.conftest import Stack
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio

RANGE = {"start_date": "2026-03-06", "end_date": "2026-03-09", "time_zone": "America/New_York"}


def cents(value: Fraction) -> str:
    """Exact cents as a USD amount, rounded half to even."""
    minor = round_half_even(value.numerator, value.denominator)
    return f"{minor // 100}.{minor % 100:02d}"


async def test_declines_count_against_the_rate_and_an_unfinished_3d_secure_does_not(
    agent: Agent, clocked_stack: Stack
) -> None:
    await build(agent, clocked_stack)
    report = await agent.ok("get_payment_success_rates", **RANGE)
    # Approved: P1, P2, P7, P3 (authorizations) and P6 (its 3-D Secure confirmation); declined: P4, P8.
    # P5's and P6's challenges are not counted: 5 / 7.
    assert report["overall"] == {"key": "all", "approved": 5, "declined": 2, "authorization_rate": "0.7143"}
    assert report["challenges"] == 2
    assert report["top_decline_codes"] == [
        {"code": "card_declined", "count": 1, "share": "0.5000"},
        {"code": "insufficient_funds", "count": 1, "share": "0.5000"},
    ]
    assert report["by_currency"] == [
        {"key": "EUR", "approved": 1, "declined": 0, "authorization_rate": "1.0000"},
        {"key": "USD", "approved": 4, "declined": 2, "authorization_rate": "0.6667"},
    ]
    assert report["by_brand"] == [
        {"key": "mastercard", "approved": 1, "declined": 0, "authorization_rate": "1.0000"},
        {"key": "visa", "approved": 4, "declined": 2, "authorization_rate": "0.6667"},
    ]
    eur, usd = report["refunds_and_disputes"]
    assert usd == {
        "currency": "USD",
        "succeeded_payments": 4,  # P1, P2, P7, P3
        "refunded_payments": 1,
        "refund_rate": "0.2500",
        "refunded": "40.00",
        "captured": "430.00",
        "refunded_amount_rate": "0.0930",  # 40 / 430 = 0.09302
        "disputed_payments": 1,
        "dispute_rate": "0.2500",
    }
    assert (eur["succeeded_payments"], eur["refund_rate"], eur["dispute_rate"]) == (1, "0.0000", "0.0000")
    top = await agent.ok("get_payment_success_rates", **RANGE, top=1, currency="EUR")
    assert top["overall"]["declined"] == 0
    assert top["top_decline_codes"] == []


async def test_customers_new_and_returning_top_arpa_cohorts_and_ltv(agent: Agent, clocked_stack: Stack) -> None:
    h = await build(agent, clocked_stack)
    days = await agent.ok("get_customer_insights", **RANGE)
    # Paying in the four days: A (returning: first paid in February), B and C (new).
    assert (days["paying_customers"], days["new_customers"], days["returning_customers"]) == (3, 2, 1)
    # Net of a payment: captured - refunded, 0 once disputed. A: (100 - 40) + 50; B: 200; C: 0 (P7 disputed).
    assert days["top_customers"] == [
        {"customer_id": h.c, "currency": "EUR", "net_revenue": "30.00", "payments": 1},
        {"customer_id": h.b, "currency": "USD", "net_revenue": "200.00", "payments": 1},
        {"customer_id": h.a, "currency": "USD", "net_revenue": "110.00", "payments": 2},
        {"customer_id": h.c, "currency": "USD", "net_revenue": "0.00", "payments": 1},
    ]
    assert days["cohorts"] == [{"month": "2026-03", "customers": 2, "retention": ["1.0000"]}]
    assert days["monthly_churn"] is None, "no cohort has a next month inside four days"

    months = await agent.ok(
        "get_customer_insights", start_date="2026-02-01", end_date="2026-03-31", time_zone="America/New_York"
    )
    assert (months["paying_customers"], months["new_customers"], months["returning_customers"]) == (4, 4, 0)
    # February's cohort: A and D; only A pays again in March. March's: B and C.
    assert months["cohorts"] == [
        {"month": "2026-02", "customers": 2, "retention": ["1.0000", "0.5000"]},
        {"month": "2026-03", "customers": 2, "retention": ["1.0000"]},
    ]
    assert months["monthly_churn"] == "0.5000"
    eur, usd = months["by_currency"]
    net = Fraction(100 * (10 + 20 + 60 + 50 + 200 + 0))  # in cents: P0, P9, P1 - refund, P2, P3, P7 (disputed)
    arpa = net / 4
    monthly = arpa / (Fraction(59) / Fraction("30.4375"))  # 59 days from Feb 1 to Mar 31
    assert usd == {
        "currency": "USD",
        "net_revenue": "340.00",
        "paying_customers": 4,
        "arpa": "85.00",
        "arpa_monthly": cents(monthly),
        "ltv": cents(monthly / Fraction(1, 2)),
    }
    assert (eur["net_revenue"], eur["paying_customers"], eur["arpa"]) == ("30.00", 1, "30.00")
    assert "arpa_monthly / monthly_churn" in months["ltv_formula"]
