"""get_subscription_metrics against subscriptions made with the real tools and renewed by due work on a fake clock."""

from datetime import UTC, datetime

import pytest

from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.subscriptions.conftest import clock_of, customer, settle

pytestmark = pytest.mark.anyio


async def test_mrr_movements_churn_retention_and_trial_conversion(agent: Agent, clocked_stack: Stack) -> None:
    clock = clock_of(clocked_stack)

    def at(month: int, day: int) -> None:
        clock.current = datetime(2026, month, day, tzinfo=UTC)

    async def plan(amount: str, interval: str, trial_days: int = 0) -> str:
        arguments = {"name": f"{amount}/{interval}", "currency": "USD", "amount": amount, "interval": interval}
        return str((await agent.ok("create_plan", **arguments, trial_days=trial_days))["plan"]["id"])

    async def subscribe(plan_id: str) -> str:
        created = await agent.ok(
            "create_subscription", customer_id=await customer(agent), plan_id=plan_id, payment_method="pm_card_visa"
        )
        return str(created["subscription"]["id"])

    at(1, 1)
    basic, annual, pro = await plan("10.00", "month"), await plan("120.00", "year"), await plan("30.00", "month", 14)
    await subscribe(basic)  # S1
    s2 = await subscribe(basic)
    await subscribe(annual)  # S3: 120.00 a year is 10.00 a month
    at(1, 5)
    await subscribe(pro)  # S4: trialing until 01-19
    at(1, 15)
    await agent.ok("cancel_subscription", subscription_id=s2)
    at(1, 19)
    await settle(clocked_stack)  # S4's trial ends: its first period is paid
    at(2, 1)
    await settle(clocked_stack)  # S1 renews
    at(2, 10)
    await subscribe(basic)  # S5
    at(2, 19)
    await settle(clocked_stack)  # S4 renews
    at(3, 1)

    report = await agent.ok("get_subscription_metrics", start_date="2026-01-10", end_date="2026-02-20")
    # At 01-10 00:00: S1 10 + S2 10 + S3 10 (S4 is trialing). At the end of 02-20: S1 10 + S3 10 + S4 30 + S5 10.
    [usd] = report["currencies"]
    assert usd == {
        "currency": "USD",
        "mrr_start": "30.00",
        "new": "40.00",  # S4 30 + S5 10: neither had paid before the range
        "expansion": "0.00",
        "reactivation": "0.00",
        "contraction": "0.00",
        "churn": "10.00",  # S2
        "mrr_end": "60.00",
        "arr_end": "720.00",
        "identity_holds": True,
        "active_subscriptions_start": 3,
        "active_subscriptions_end": 4,
        "churned_subscriptions": 1,
        "logo_churn_rate": "0.3333",
        "gross_revenue_retention": "0.6667",  # (30 - 10) / 30
        "net_revenue_retention": "0.6667",
    }
    assert (report["trials_ended"], report["trials_converted"], report["trial_conversion_rate"]) == (1, 1, "1.0000")
    assert "year plan's / (12 * interval_count)" in report["mrr_rule"]

    empty = await agent.ok("get_subscription_metrics", start_date="2025-01-01", end_date="2025-01-31", currency="EUR")
    [eur] = empty["currencies"]
    assert (eur["mrr_start"], eur["mrr_end"], eur["identity_holds"], eur["logo_churn_rate"]) == (
        "0.00",
        "0.00",
        True,
        None,
    )
    assert empty["trial_conversion_rate"] is None
