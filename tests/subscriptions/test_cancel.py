"""Canceling now or at the period's end, and undoing a scheduled cancellation until then."""

import pytest

from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.subscriptions.conftest import clock_of, plan, settle, subscribe
from tests.subscriptions.test_subscriptions import invoices_of

pytestmark = pytest.mark.anyio


async def test_a_subscription_canceled_now_is_never_charged_again_and_its_open_invoice_is_voided(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clock_of(clocked_stack)
    p = await plan(agent)
    created = await subscribe(agent, p["id"], "pm_card_chargeDeclined")
    sub = created["subscription"]
    clock.advance(hours=2)
    canceled = (await agent.ok("cancel_subscription", subscription_id=sub["id"]))["subscription"]
    assert (canceled["status"], canceled["canceled_at"]) == ("canceled", "2026-01-01T02:00:00Z")
    assert (await agent.ok("get_invoice", invoice_id=created["invoice"]["id"]))["status"] == "void"

    clock.advance(days=70)
    await settle(clocked_stack)
    assert len(await invoices_of(agent, sub["id"])) == 1
    again = await agent.err("cancel_subscription", subscription_id=sub["id"])
    assert again["code"] == "invalid_state"
    assert "is canceled" in again["message"]


async def test_a_cancellation_at_period_end_stops_the_renewal_and_cancels_when_the_period_ends(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clock_of(clocked_stack)
    p = await plan(agent)
    sub = (await subscribe(agent, p["id"]))["subscription"]
    scheduled = (await agent.ok("cancel_subscription", subscription_id=sub["id"], at_period_end=True))["subscription"]
    assert (scheduled["status"], scheduled["cancel_at_period_end"], scheduled["canceled_at"]) == ("active", True, None)

    clock.advance(days=31)  # Feb 1: the period's end
    await settle(clocked_stack)
    ended = await agent.ok("get_subscription", subscription_id=sub["id"])
    assert (ended["status"], ended["canceled_at"], ended["cancel_at_period_end"]) == (
        "canceled",
        "2026-02-01T00:00:00Z",
        False,
    )
    assert len(await invoices_of(agent, sub["id"])) == 1, "the period after the cancellation is never invoiced"
    late = await agent.err("resume_subscription", subscription_id=sub["id"])
    assert late["code"] == "invalid_state"


async def test_a_scheduled_cancellation_undone_before_the_period_ends_keeps_the_subscription_renewing(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clock_of(clocked_stack)
    p = await plan(agent)
    sub = (await subscribe(agent, p["id"]))["subscription"]
    await agent.ok("cancel_subscription", subscription_id=sub["id"], at_period_end=True)
    clock.advance(days=30)
    kept = (await agent.ok("resume_subscription", subscription_id=sub["id"]))["subscription"]
    assert (kept["status"], kept["cancel_at_period_end"]) == ("active", False)

    clock.advance(days=1)
    await settle(clocked_stack)
    assert [i["status"] for i in await invoices_of(agent, sub["id"])] == ["paid", "paid"]
    nothing = await agent.err("resume_subscription", subscription_id=sub["id"])
    assert nothing["code"] == "invalid_state"
    assert "no cancellation scheduled" in nothing["message"]


async def test_only_a_renewing_subscription_can_be_canceled_at_period_end(agent: Agent) -> None:
    p = await plan(agent)
    sub = (await subscribe(agent, p["id"], "pm_card_chargeDeclined"))["subscription"]
    refused = await agent.err("cancel_subscription", subscription_id=sub["id"], at_period_end=True)
    assert (refused["code"], refused["details"]["status"]) == ("invalid_state", "incomplete")
    current = await agent.ok("get_subscription", subscription_id=sub["id"])
    assert (current["status"], current["cancel_at_period_end"]) == ("incomplete", False)


async def test_a_past_due_subscription_canceled_at_period_end_stops_its_retries_and_voids_its_invoice(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clock_of(clocked_stack)
    sub = (await subscribe(agent, (await plan(agent, interval="week", trial_days=1))["id"], "pm_card_chargeDeclined"))[
        "subscription"
    ]
    clock.advance(days=1)
    await settle(clocked_stack)
    [invoice] = await invoices_of(agent, sub["id"])
    assert invoice["next_attempt_at"] == "2026-01-03T00:00:00Z"
    scheduled = await agent.ok("cancel_subscription", subscription_id=sub["id"], at_period_end=True)
    assert (scheduled["subscription"]["status"], scheduled["subscription"]["cancel_at_period_end"]) == (
        "past_due",
        True,
    )

    for _ in range(7):  # to Jan 9, the weekly period's end, a day at a time: the retries of Jan 3, 4, 5 and 7 first
        clock.advance(days=1)
        await settle(clocked_stack)
    ended = await agent.ok("get_subscription", subscription_id=sub["id"])
    assert (ended["status"], ended["canceled_at"]) == ("canceled", "2026-01-09T00:00:00Z")
    [after] = await invoices_of(agent, sub["id"])
    assert (after["status"], after["attempts"]) == ("void", 5)
