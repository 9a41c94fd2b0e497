"""change_subscription_plan: the old price's unused time is credited and the new one's remaining time charged, by
the second, on the next invoice (create_prorations), nowhere (none) or on an invoice charged now (always_invoice);
the invoice then issued is the preview, line for line."""

from typing import Any

import pytest

from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.subscriptions.conftest import clock_of, plan, settle, subscribe
from tests.subscriptions.test_subscriptions import invoices_of

pytestmark = pytest.mark.anyio

SHOWN = ("period_start", "period_end", "lines", "total")


def minor_lines(invoice: dict[str, Any]) -> list[tuple[str, int]]:
    return [(line["kind"], line["amount"]["amount_minor"]) for line in invoice["lines"]]


async def upgraded_on_day_11(agent: Agent, stack: Stack, behavior: str | None) -> tuple[str, dict[str, Any]]:
    """A 30.00 monthly subscription from Jan 1 moved to a 60.00 plan on Jan 11 (21 of January's 31 days left)."""
    small, large = await plan(agent, "30.00", name="Basic"), await plan(agent, "60.00", name="Pro")
    sub = (await subscribe(agent, small["id"]))["subscription"]["id"]
    clock_of(stack).advance(days=10)
    arguments = {} if behavior is None else {"proration_behavior": behavior}
    changed = await agent.ok("change_subscription_plan", subscription_id=sub, plan_id=large["id"], **arguments)
    return sub, changed


async def test_create_prorations_puts_the_credit_and_the_charge_on_the_next_invoice_exactly_as_previewed(
    agent: Agent, clocked_stack: Stack
) -> None:
    sub, changed = await upgraded_on_day_11(agent, clocked_stack, None)
    # 3000 x 21/31 = 2032.26 -> 2032 credited; 6000 x 21/31 = 4064.52 -> 4065 charged (half to even, once each)
    assert [(line["kind"], line["amount"]["amount_minor"]) for line in changed["proration_lines"]] == [
        ("proration_credit", -2032),
        ("proration_debit", 4065),
    ]
    assert changed["invoice"] is None
    assert (changed["subscription"]["plan_id"], changed["plan"]["used"]) == (changed["plan"]["id"], True)
    preview = await agent.ok("preview_upcoming_invoice", subscription_id=sub)
    assert minor_lines(preview) == [("plan", 6000), ("proration_credit", -2032), ("proration_debit", 4065)]
    assert preview["total"]["amount"] == "80.33"

    clock_of(clocked_stack).advance(days=21)  # Feb 1: the renewal
    await settle(clocked_stack)
    issued = (await invoices_of(agent, sub))[1]
    assert {k: issued[k] for k in SHOWN} == {k: preview[k] for k in SHOWN}
    assert issued["status"] == "paid"
    assert (await agent.payment(issued["payment_id"]))["payment"]["amount"]["amount"] == "80.33"
    after = await agent.ok("preview_upcoming_invoice", subscription_id=sub)
    assert minor_lines(after) == [("plan", 6000)], "the lines are invoiced once"


async def test_proration_none_changes_the_price_from_the_next_period_only(agent: Agent, clocked_stack: Stack) -> None:
    sub, changed = await upgraded_on_day_11(agent, clocked_stack, "none")
    assert changed["proration_lines"] == []
    assert minor_lines(await agent.ok("preview_upcoming_invoice", subscription_id=sub)) == [("plan", 6000)]


async def test_always_invoice_issues_and_charges_the_proration_now(agent: Agent, clocked_stack: Stack) -> None:
    sub, changed = await upgraded_on_day_11(agent, clocked_stack, "always_invoice")
    invoice = changed["invoice"]
    assert minor_lines(invoice) == [("proration_credit", -2032), ("proration_debit", 4065)]
    assert (invoice["status"], invoice["total"]["amount"], invoice["attempts"]) == ("paid", "20.33", 1)
    assert (await agent.payment(invoice["payment_id"]))["payment"]["status"] == "succeeded"
    assert minor_lines(await agent.ok("preview_upcoming_invoice", subscription_id=sub)) == [("plan", 6000)]
    clock_of(clocked_stack).advance(days=21)
    await settle(clocked_stack)
    assert [i["total"]["amount"] for i in await invoices_of(agent, sub)] == ["30.00", "20.33", "60.00"]


async def test_an_always_invoice_change_that_is_declined_changes_nothing(agent: Agent, clocked_stack: Stack) -> None:
    small, large = await plan(agent, "30.00"), await plan(agent, "60.00")
    sub = (await subscribe(agent, small["id"]))["subscription"]
    await agent.ok(
        "update_subscription", subscription_id=sub["id"], default_payment_method="pm_card_chargeCustomerFail"
    )
    clock_of(clocked_stack).advance(days=10)
    refused = await agent.err(
        "change_subscription_plan", subscription_id=sub["id"], plan_id=large["id"], proration_behavior="always_invoice"
    )
    assert (refused["code"], refused["details"]["decline_code"]) == ("plan_change_declined", "card_declined")
    assert "the plan was not changed" in refused["message"]
    assert (await agent.ok("get_subscription", subscription_id=sub["id"]))["plan_id"] == small["id"]
    assert len(await invoices_of(agent, sub["id"])) == 1
    payments = await agent.ok("list_payments", customer_id=sub["customer_id"], limit=100)
    assert len(payments["payments"]) == 1, "the declined attempt was rolled back with the change"


async def test_a_downgrade_credit_larger_than_the_next_invoice_is_carried_to_the_one_after(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clock_of(clocked_stack)
    large, small = await plan(agent, "62.00"), await plan(agent, "1.00")
    sub = (await subscribe(agent, large["id"]))["subscription"]["id"]
    clock.advance(days=0.5)  # Jan 1 12:00: 61 of 62 half-days left
    await agent.ok("change_subscription_plan", subscription_id=sub, plan_id=small["id"])
    preview = await agent.ok("preview_upcoming_invoice", subscription_id=sub)
    # 100 (plan) - 6100 (credit) + 98 (debit: 100 x 61/62 = 98.39) < 0: the invoice takes 198 of the credit
    assert minor_lines(preview) == [("plan", 100), ("proration_credit", -198), ("proration_debit", 98)]
    assert preview["total"]["amount_minor"] == 0
    owed = []
    for _ in range(4):
        clock.current = clock.current.replace(day=1, month=clock.current.month + 1, hour=0)
        await settle(clocked_stack)
        owed.append((await invoices_of(agent, sub))[-1]["total"]["amount_minor"])
    # What is left of the 5902 credited: 5902 - 198 = 5704, then 100 a month
    assert owed == [0, 0, 0, 0]
    left = await agent.ok("preview_upcoming_invoice", subscription_id=sub)
    assert minor_lines(left) == [("plan", 100), ("proration_credit", -100)]


async def test_a_change_during_a_trial_prorates_nothing_and_the_trial_ends_on_the_new_price(
    agent: Agent, clocked_stack: Stack
) -> None:
    small, large = await plan(agent, "30.00"), await plan(agent, "60.00")
    sub = (await subscribe(agent, small["id"], trial_days=14))["subscription"]["id"]
    clock_of(clocked_stack).advance(days=3)
    changed = await agent.ok(
        "change_subscription_plan", subscription_id=sub, plan_id=large["id"], proration_behavior="always_invoice"
    )
    assert (changed["proration_lines"], changed["invoice"]) == ([], None)
    assert minor_lines(await agent.ok("preview_upcoming_invoice", subscription_id=sub)) == [("plan", 6000)]
