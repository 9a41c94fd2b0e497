"""One customer's year, told by the tools: trial -> active -> plan change -> failed renewal -> dunning -> recovery
-> cancel, with the exact invoices, payments and states at each step (both databases)."""

from typing import Any

import pytest

from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.subscriptions.conftest import clock_of, plan, settle, subscribe
from tests.subscriptions.test_subscriptions import invoices_of

pytestmark = pytest.mark.anyio


def invoice_rows(invoices: list[dict[str, Any]]) -> list[tuple[str, str, str, int]]:
    return [(i["period_start"][:10], i["total"]["amount"], i["status"], i["attempts"]) for i in invoices]


async def test_trial_active_plan_change_failed_renewal_dunning_recovery_and_cancel(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clock_of(clocked_stack)
    basic, pro = await plan(agent, "30.00", name="Basic"), await plan(agent, "60.00", name="Pro")
    created = await subscribe(agent, basic["id"], trial_days=14)
    sub, customer = created["subscription"]["id"], created["subscription"]["customer_id"]
    states = [created["subscription"]["status"]]

    async def step() -> None:
        await settle(clocked_stack)
        states.append((await agent.ok("get_subscription", subscription_id=sub))["status"])

    clock.advance(days=14)  # Jan 15: the trial ends, the first period (to Feb 15) is charged
    await step()
    clock.advance(days=10)  # Jan 25: 21 of the period's 31 days left
    changed = await agent.ok("change_subscription_plan", subscription_id=sub, plan_id=pro["id"])
    assert [line["amount"]["amount"] for line in changed["proration_lines"]] == ["-20.32", "40.65"]
    await agent.ok("update_subscription", subscription_id=sub, default_payment_method="pm_card_chargeCustomerFail")
    preview = await agent.ok("preview_upcoming_invoice", subscription_id=sub)
    assert preview["total"]["amount"] == "80.33"
    clock.current = clock.current.replace(month=2, day=15)  # the renewal is declined
    await step()
    clock.advance(days=1)  # Feb 16: dunning's first retry, declined too
    await step()
    clock.advance(hours=12)  # the customer gives a working card and pays
    await agent.ok("update_subscription", subscription_id=sub, default_payment_method="pm_card_visa")
    renewal = (await invoices_of(agent, sub))[1]
    paid = await agent.ok("pay_invoice", invoice_id=renewal["id"])
    states.append(paid["subscription"]["status"])
    clock.current = clock.current.replace(month=3, day=15, hour=0)  # renews on the new price
    await step()
    clock.advance(days=5)
    canceled = await agent.ok("cancel_subscription", subscription_id=sub, prorate=True)
    states.append(canceled["subscription"]["status"])
    clock.advance(days=90)
    await step()

    assert states == ["trialing", "active", "past_due", "past_due", "active", "active", "canceled", "canceled"]
    assert invoice_rows(await invoices_of(agent, sub)) == [
        ("2026-01-15", "30.00", "paid", 1),
        ("2026-02-15", "80.33", "paid", 3),
        ("2026-03-15", "60.00", "paid", 1),
    ]
    assert {k: renewal[k] for k in ("period_start", "period_end", "lines", "total")} == {
        k: preview[k] for k in ("period_start", "period_end", "lines", "total")
    }
    payments = (await agent.ok("list_payments", customer_id=customer, limit=100))["payments"]
    assert sorted((p["created_at"], p["amount"]["amount"], p["status"]) for p in payments) == [
        ("2026-01-15T00:00:00Z", "30.00", "succeeded"),
        ("2026-02-15T00:00:00Z", "80.33", "requires_payment_method"),
        ("2026-02-16T00:00:00Z", "80.33", "requires_payment_method"),
        ("2026-02-16T12:00:00Z", "80.33", "succeeded"),
        ("2026-03-15T00:00:00Z", "60.00", "succeeded"),
    ]
    # Canceled on Mar 20 with 26 of the 31 days (Mar 15 - Apr 15) unused: 60.00 x 26/31 = 50.32 back
    assert canceled["refund"]["amount"] == "50.32"
