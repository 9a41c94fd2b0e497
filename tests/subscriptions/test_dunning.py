"""Dunning: a failed renewal is past_due and tried again on the schedule (8 tries within 2 weeks); a hard decline
is not retried; after the last failure the subscription is canceled (or unpaid, as the setting says); a successful
retry makes it active again."""

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from mcp_payments.domain.subscriptions import Dunning
from mcp_payments.services.payments.lifecycle import PaymentService
from mcp_payments.services.subscriptions.lifecycle import SubscriptionService
from mcp_payments.services.subscriptions.ports import SUBSCRIPTIONS
from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.subscriptions.conftest import clock_of, plan, settle, subscribe
from tests.subscriptions.test_subscriptions import invoices_of

pytestmark = pytest.mark.anyio


async def past_due(agent: Agent, stack: Stack, card: str) -> tuple[str, dict[str, Any]]:
    """A subscription whose first charge, at the end of a one-day trial (Jan 2), fails; and its invoice."""
    sub = (await subscribe(agent, (await plan(agent, trial_days=1))["id"], card))["subscription"]["id"]
    clock_of(stack).advance(days=1)
    await settle(stack)
    [invoice] = await invoices_of(agent, sub)
    return sub, invoice


async def test_a_soft_decline_is_retried_on_the_schedule_then_the_subscription_is_canceled(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clock_of(clocked_stack)
    sub, invoice = await past_due(agent, clocked_stack, "pm_card_chargeDeclinedInsufficientFunds")
    assert (await agent.ok("get_subscription", subscription_id=sub))["status"] == "past_due"
    assert (invoice["attempts"], invoice["next_attempt_at"]) == (1, "2026-01-03T00:00:00Z")

    tries = []
    for day in (3, 4, 5, 7, 9, 12, 16):  # Jan 2 + 1, 2, 3, 5, 7, 10 and 14 days
        clock.current = clock.current.replace(day=day) - timedelta(seconds=1)
        await settle(clocked_stack)
        assert (await agent.ok("get_invoice", invoice_id=invoice["id"]))["attempts"] == len(tries) + 1, "not early"
        clock.current += timedelta(seconds=1)
        await settle(clocked_stack)
        now = await agent.ok("get_invoice", invoice_id=invoice["id"])
        tries.append((now["attempts"], now["status"], now["next_attempt_at"]))

    assert [t[0] for t in tries] == [2, 3, 4, 5, 6, 7, 8]
    assert tries[-1][1:] == ("void", None)
    ended = await agent.ok("get_subscription", subscription_id=sub)
    assert (ended["status"], ended["canceled_at"]) == ("canceled", "2026-01-16T00:00:00Z")
    payments = await agent.ok("list_payments", customer_id=ended["customer_id"], limit=100)
    assert [p["status"] for p in payments["payments"]] == ["requires_payment_method"] * 8
    clock.advance(days=60)
    await settle(clocked_stack)
    assert (await agent.ok("get_invoice", invoice_id=invoice["id"]))["attempts"] == 8


@pytest.mark.parametrize("card", ["pm_card_chargeDeclinedLostCard", "pm_card_chargeDeclinedExpiredCard"])
async def test_a_hard_decline_is_not_retried(agent: Agent, clocked_stack: Stack, card: str) -> None:
    sub, invoice = await past_due(agent, clocked_stack, card)
    assert (invoice["attempts"], invoice["status"], invoice["next_attempt_at"]) == (1, "void", None)
    assert (await agent.ok("get_subscription", subscription_id=sub))["status"] == "canceled"


async def test_with_the_unpaid_setting_the_last_failure_leaves_it_unpaid_and_pay_invoice_can_still_recover_it(
    agent: Agent, clocked_stack: Stack
) -> None:
    lifecycle = clocked_stack.services.get(SubscriptionService)
    lifecycle.dunning = Dunning(cancel_after_last=False)
    sub, invoice = await past_due(agent, clocked_stack, "pm_card_chargeDeclinedStolenCard")
    assert (await agent.ok("get_subscription", subscription_id=sub))["status"] == "unpaid"
    assert (invoice["status"], invoice["next_attempt_at"]) == ("open", None)

    await use_card(clocked_stack, sub, "pm_card_visa")
    paid = await agent.ok("pay_invoice", invoice_id=invoice["id"])
    assert (paid["invoice"]["status"], paid["subscription"]["status"]) == ("paid", "active")


async def test_a_successful_retry_makes_the_subscription_active_again(agent: Agent, clocked_stack: Stack) -> None:
    sub, invoice = await past_due(agent, clocked_stack, "pm_card_chargeDeclined")
    await use_card(clocked_stack, sub, "pm_card_visa")  # the customer's bank lets it through now
    clock_of(clocked_stack).advance(days=1)
    await settle(clocked_stack)
    retried = await agent.ok("get_invoice", invoice_id=invoice["id"])
    assert (retried["status"], retried["attempts"], retried["next_attempt_at"]) == ("paid", 2, None)
    assert (await agent.payment(retried["payment_id"]))["payment"]["status"] == "succeeded"
    assert (await agent.ok("get_subscription", subscription_id=sub))["status"] == "active"


async def use_card(stack: Stack, subscription_id: str, token: str) -> None:
    """The subscription's card now behaves as `token` (no tool changes a subscription's card yet)."""
    method = stack.services.get(PaymentService).payment_method(token, None)
    async with stack.services.uow() as uow:
        current = await uow.repo(SUBSCRIPTIONS).get(subscription_id)
        assert current is not None
        await uow.repo(SUBSCRIPTIONS).update(replace(current, method=method))
        await uow.commit()
