"""A subscription's charges made by an agent count against its spending limits, like create_payment's: the first
period's charge (none during a trial) and pay_invoice's total. Renewals by the jobs are the system's, not counted."""

import pytest

from mcp_payments.domain.limits import Policy
from mcp_payments.server.callers import local_principal
from mcp_payments.services.controls import SpendingControls
from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.subscriptions.conftest import customer, plan, subscribe

pytestmark = pytest.mark.anyio


async def limit_per_call(stack: Stack, minor: int) -> None:
    controls = stack.services.get(SpendingControls)
    policy = Policy(local_principal(), "USD", max_per_call=minor)
    await stack.services.calls.write(lambda uow: controls.put_policy(uow, policy, "cli:test"))


async def test_a_first_charge_over_the_limit_is_refused_and_a_trial_is_not_counted(
    agent: Agent, clocked_stack: Stack
) -> None:
    pricey, cheap = await plan(agent, "60.00"), await plan(agent, "40.00")
    await limit_per_call(clocked_stack, 5000)

    cus = await customer(agent)
    refused = await agent.err(
        "create_subscription", customer_id=cus, plan_id=pricey["id"], payment_method="pm_card_visa"
    )
    assert refused["code"] == "limit_exceeded"
    assert refused["details"]["limit"] == "max_per_call"
    assert (await agent.ok("list_subscriptions", customer_id=cus))["subscriptions"] == []

    trialing = await subscribe(agent, pricey["id"], trial_days=7)
    assert trialing["subscription"]["status"] == "trialing"
    assert (await subscribe(agent, cheap["id"]))["subscription"]["status"] == "active"


async def test_an_always_invoice_plan_change_counts_its_proration_against_the_limit(
    agent: Agent, clocked_stack: Stack
) -> None:
    small, large = await plan(agent, "30.00"), await plan(agent, "60.00")
    sub = (await subscribe(agent, small["id"]))["subscription"]["id"]
    await limit_per_call(clocked_stack, 2000)  # the proration on Jan 11 is 20.33
    clocked_stack.clock.advance(days=10)  # type: ignore[union-attr]  # the clocked stack has one
    change = {"subscription_id": sub, "plan_id": large["id"]}
    refused = await agent.err("change_subscription_plan", **change, proration_behavior="always_invoice")
    assert (refused["code"], refused["details"]["limit"]) == ("limit_exceeded", "max_per_call")
    assert (await agent.ok("get_subscription", subscription_id=sub))["plan_id"] == small["id"]
    changed = await agent.ok("change_subscription_plan", **change)  # on the next invoice: nothing charged now
    assert changed["subscription"]["plan_id"] == large["id"]
