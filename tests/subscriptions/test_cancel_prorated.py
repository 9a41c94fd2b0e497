"""cancel_subscription now with prorate: the paid period's unused time goes back to the card, by the second."""

import pytest

from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.subscriptions.conftest import clock_of, plan, settle, subscribe

pytestmark = pytest.mark.anyio


async def test_a_prorated_cancellation_refunds_the_unused_time_once(agent: Agent, clocked_stack: Stack) -> None:
    created = await subscribe(agent, (await plan(agent, "31.00"))["id"])
    sub, payment = created["subscription"]["id"], created["invoice"]["payment_id"]
    clock_of(clocked_stack).advance(days=10)
    canceled = await agent.ok("cancel_subscription", subscription_id=sub, prorate=True)
    assert canceled["subscription"]["status"] == "canceled"
    assert canceled["refund"]["amount"] == "21.00"  # 21 of January's 31 days
    got = (await agent.payment(payment))["payment"]
    assert got["amount_refunded"]["amount"] == "21.00"
    clock_of(clocked_stack).advance(days=40)
    await settle(clocked_stack)
    assert (await agent.payment(payment))["payment"]["amount_refunded"]["amount"] == "21.00"


async def test_without_prorate_or_at_period_end_nothing_is_refunded(agent: Agent) -> None:
    p = await plan(agent, "31.00")
    sub = (await subscribe(agent, p["id"]))["subscription"]["id"]
    refused = await agent.err("cancel_subscription", subscription_id=sub, at_period_end=True, prorate=True)
    assert refused["code"] == "invalid_argument"
    canceled = await agent.ok("cancel_subscription", subscription_id=sub)
    assert (canceled["refund"], canceled["refund_id"]) == (None, None)
