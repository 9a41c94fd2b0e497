"""preview_upcoming_invoice shows exactly the invoice the next renewal then issues."""

import pytest

from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.subscriptions.conftest import clock_of, plan, settle, subscribe
from tests.subscriptions.test_subscriptions import invoices_of

pytestmark = pytest.mark.anyio

SHOWN = ("period_start", "period_end", "lines", "total")


@pytest.mark.parametrize("trial_days", [0, 10])
async def test_the_invoice_issued_at_renewal_equals_the_preview(
    agent: Agent, clocked_stack: Stack, trial_days: int
) -> None:
    clock = clock_of(clocked_stack)
    sub = (await subscribe(agent, (await plan(agent, "12.34"))["id"], trial_days=trial_days))["subscription"]
    clock.advance(days=5)
    preview = await agent.ok("preview_upcoming_invoice", subscription_id=sub["id"])
    assert preview["subscription_id"] == sub["id"]
    assert preview["period_start"] == sub["current_period_end"]
    assert preview["total"]["amount"] == "12.34"
    assert sum(line["amount"]["amount_minor"] for line in preview["lines"]) == preview["total"]["amount_minor"]

    clock.advance(days=40)
    await settle(clocked_stack)
    issued = (await invoices_of(agent, sub["id"]))[0 if trial_days else 1]  # the first one issued after the preview
    assert {k: issued[k] for k in SHOWN} == {k: preview[k] for k in SHOWN}
    assert issued["status"] == "paid"


async def test_a_subscription_that_will_not_renew_has_no_upcoming_invoice(agent: Agent) -> None:
    p = await plan(agent)
    ending = (await subscribe(agent, p["id"]))["subscription"]["id"]
    await agent.ok("cancel_subscription", subscription_id=ending, at_period_end=True)
    refused = await agent.err("preview_upcoming_invoice", subscription_id=ending)
    assert (refused["code"], "ends at the period's end" in refused["message"]) == ("invalid_state", True)
    await agent.ok("cancel_subscription", subscription_id=ending)
    canceled = await agent.err("preview_upcoming_invoice", subscription_id=ending)
    assert (canceled["code"], canceled["details"]["status"]) == ("invalid_state", "canceled")
