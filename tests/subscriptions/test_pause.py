"""pause_subscription stops collection: the periods go on and each one's invoice is voided, kept as a draft (charged
on resume) or marked uncollectible; resume_subscription, or resumes_at through the due work, makes it active again."""

import pytest

from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.subscriptions.conftest import clock_of, plan, settle, subscribe
from tests.subscriptions.test_subscriptions import invoices_of

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("collection", "held"), [("void", "void"), ("keep_as_draft", "draft"), ("mark_uncollectible", "uncollectible")]
)
async def test_a_period_that_starts_while_paused_is_invoiced_as_the_pause_says_and_nothing_is_charged(
    agent: Agent, clocked_stack: Stack, collection: str, held: str
) -> None:
    sub = (await subscribe(agent, (await plan(agent, "10.00"))["id"]))["subscription"]
    paused = await agent.ok("pause_subscription", subscription_id=sub["id"], collection=collection)
    assert paused["subscription"]["status"] == "paused"
    clock_of(clocked_stack).advance(days=31)
    await settle(clocked_stack)
    first, second = await invoices_of(agent, sub["id"])
    assert (first["status"], second["status"], second["attempts"], second["payment_id"]) == ("paid", held, 0, None)
    got = await agent.ok("get_subscription", subscription_id=sub["id"])
    assert (got["status"], got["current_period_start"]) == ("paused", "2026-02-01T00:00:00Z"), "periods go on"

    resumed = await agent.ok("resume_subscription", subscription_id=sub["id"])
    assert resumed["subscription"]["status"] == "active"
    statuses = [i["status"] for i in await invoices_of(agent, sub["id"])]
    assert statuses == ["paid", "paid" if collection == "keep_as_draft" else held]
    payments = await agent.ok("list_payments", customer_id=sub["customer_id"], limit=100)
    assert len(payments["payments"]) == (2 if collection == "keep_as_draft" else 1)


async def test_a_scheduled_resume_is_due_work_and_a_declined_draft_leaves_it_past_due_for_dunning(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clock_of(clocked_stack)
    sub = (await subscribe(agent, (await plan(agent, "10.00"))["id"]))["subscription"]["id"]
    await agent.ok("update_subscription", subscription_id=sub, default_payment_method="pm_card_chargeCustomerFail")
    paused = await agent.ok(
        "pause_subscription", subscription_id=sub, collection="keep_as_draft", resumes_at="2026-02-10T00:00:00+00:00"
    )
    assert paused["subscription"]["resumes_at"] == "2026-02-10T00:00:00Z"
    clock.advance(days=39)  # Feb 9
    await settle(clocked_stack)
    assert (await agent.ok("get_subscription", subscription_id=sub))["status"] == "paused"
    clock.advance(days=1)
    await settle(clocked_stack)
    got = await agent.ok("get_subscription", subscription_id=sub)
    assert (got["status"], got["resumes_at"]) == ("past_due", None)
    draft = (await invoices_of(agent, sub))[1]
    assert (draft["status"], draft["attempts"], draft["last_decline_code"]) == ("open", 1, "card_declined")
    assert draft["next_attempt_at"] is not None


async def test_only_a_trialing_or_active_subscription_pauses_and_resumes_at_must_be_ahead(agent: Agent) -> None:
    sub = (await subscribe(agent, (await plan(agent))["id"]))["subscription"]["id"]
    past = await agent.err(
        "pause_subscription", subscription_id=sub, collection="void", resumes_at="2025-12-31T00:00:00Z"
    )
    assert past["code"] == "invalid_argument"
    naive = await agent.err("pause_subscription", subscription_id=sub, collection="void", resumes_at="2026-03-01")
    assert naive["code"] == "invalid_argument"
    far = await agent.err(
        "pause_subscription", subscription_id=sub, collection="void", resumes_at="2029-01-01T00:00:00Z"
    )
    assert far["code"] == "invalid_argument"
    await agent.ok("pause_subscription", subscription_id=sub, collection="void")
    again = await agent.err("pause_subscription", subscription_id=sub, collection="keep_as_draft")
    assert (again["code"], again["details"]["status"]) == ("invalid_state", "paused")
    await agent.ok("cancel_subscription", subscription_id=sub)
    assert (await agent.err("resume_subscription", subscription_id=sub))["code"] == "invalid_state"
