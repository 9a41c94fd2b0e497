"""Subscribing, renewing and expiring, on an injected clock: the exact invoices, payments and states."""

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from mcp_payments.adapters.db import tables
from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.payments.conftest import engine
from tests.subscriptions.conftest import clock_of, customer, plan, settle, subscribe

pytestmark = pytest.mark.anyio


async def invoices_of(agent: Agent, subscription_id: str) -> list[dict[str, Any]]:
    """Oldest first."""
    listed = await agent.ok("list_invoices", subscription_id=subscription_id, limit=100)
    return list(reversed(listed["invoices"]))


async def test_without_a_trial_the_first_period_is_invoiced_and_charged_at_once(agent: Agent) -> None:
    p = await plan(agent, "10.00")
    created = await subscribe(agent, p["id"])
    sub, invoice = created["subscription"], created["invoice"]
    assert sub["status"] == "active"
    assert (sub["current_period_start"], sub["current_period_end"]) == ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
    assert (sub["card_brand"], sub["card_last4"]) == ("visa", "4242")
    assert invoice["status"] == "paid"
    assert invoice["total"]["amount"] == "10.00"
    assert [(line["kind"], line["amount"]["amount_minor"]) for line in invoice["lines"]] == [("plan", 1000)]
    assert invoice["attempts"] == 1
    payment = await agent.payment(invoice["payment_id"])
    assert payment["payment"]["status"] == "succeeded"
    assert payment["payment"]["amount"]["amount_minor"] == 1000
    assert payment["payment"]["customer_id"] == sub["customer_id"]
    assert [t["kind"] for t in payment["ledger"]] == ["payment_capture"]
    assert await agent.ok("get_subscription", subscription_id=sub["id"]) == sub
    assert await agent.ok("get_invoice", invoice_id=invoice["id"]) == invoice
    assert set(created["receipt"]) == {"audit_id", "record_hash"}


async def test_a_trial_is_free_until_it_ends_then_the_first_period_is_charged(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clock_of(clocked_stack)
    p = await plan(agent, "25.00", trial_days=14)
    created = await subscribe(agent, p["id"])
    sub = created["subscription"]
    assert (sub["status"], sub["trial_end"], created["invoice"]) == ("trialing", "2026-01-15T00:00:00Z", None)

    clock.advance(days=14, seconds=-1)
    await settle(clocked_stack)
    assert (await agent.ok("get_subscription", subscription_id=sub["id"]))["status"] == "trialing"
    assert await invoices_of(agent, sub["id"]) == []
    clock.advance(seconds=1)
    await settle(clocked_stack)

    renewed = await agent.ok("get_subscription", subscription_id=sub["id"])
    assert renewed["status"] == "active"
    assert (renewed["current_period_start"], renewed["current_period_end"]) == (
        "2026-01-15T00:00:00Z",
        "2026-02-15T00:00:00Z",
    )
    [first] = await invoices_of(agent, sub["id"])
    assert (first["status"], first["total"]["amount_minor"], first["period_start"]) == (
        "paid",
        2500,
        "2026-01-15T00:00:00Z",
    )


async def test_a_trial_given_on_the_subscription_overrides_the_plans(agent: Agent) -> None:
    p = await plan(agent, trial_days=30)
    assert (await subscribe(agent, p["id"], trial_days=0))["subscription"]["status"] == "active"
    assert (await subscribe(agent, p["id"], trial_days=3))["subscription"]["trial_end"] == "2026-01-04T00:00:00Z"


async def test_renewals_from_a_month_end_anchor_clamp_and_come_back_each_period_invoiced_once(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clock_of(clocked_stack)
    clock.current = datetime(2026, 1, 31, 12, tzinfo=UTC)
    p = await plan(agent, "9.99")
    sub = (await subscribe(agent, p["id"]))["subscription"]

    clock.current = datetime(2026, 5, 1, tzinfo=UTC)
    await settle(clocked_stack)  # Feb 28, Mar 31 and Apr 30, one per pass
    await settle(clocked_stack)

    invoices = await invoices_of(agent, sub["id"])
    assert [(i["period_start"][:10], i["period_end"][:10], i["status"]) for i in invoices] == [
        ("2026-01-31", "2026-02-28", "paid"),
        ("2026-02-28", "2026-03-31", "paid"),
        ("2026-03-31", "2026-04-30", "paid"),
        ("2026-04-30", "2026-05-31", "paid"),
    ]
    payments = {i["payment_id"] for i in invoices}
    assert len(payments) == 4
    for payment_id in payments:
        assert (await agent.payment(payment_id))["payment"]["amount"]["amount_minor"] == 999
    current = await agent.ok("get_subscription", subscription_id=sub["id"])
    assert (current["status"], current["current_period_end"]) == ("active", "2026-05-31T12:00:00Z")


async def test_a_declined_first_invoice_leaves_the_subscription_incomplete_until_it_expires_after_23_hours(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clock_of(clocked_stack)
    p = await plan(agent)
    created = await subscribe(agent, p["id"], "pm_card_chargeDeclinedInsufficientFunds")
    sub, invoice = created["subscription"], created["invoice"]
    assert sub["status"] == "incomplete"
    assert (invoice["status"], invoice["attempts"], invoice["last_decline_code"]) == ("open", 1, "insufficient_funds")
    assert (await agent.payment(invoice["payment_id"]))["payment"]["status"] == "requires_payment_method"

    retried = await agent.ok("pay_invoice", invoice_id=invoice["id"])
    assert (retried["invoice"]["attempts"], retried["invoice"]["status"]) == (2, "open")
    assert retried["subscription"]["status"] == "incomplete"

    clock.advance(hours=23, seconds=-1)
    await settle(clocked_stack)
    assert (await agent.ok("get_subscription", subscription_id=sub["id"]))["status"] == "incomplete"
    clock.advance(seconds=1)
    await settle(clocked_stack)
    expired = await agent.ok("get_subscription", subscription_id=sub["id"])
    assert expired["status"] == "incomplete_expired"
    assert (await agent.ok("get_invoice", invoice_id=invoice["id"]))["status"] == "void"
    refused = await agent.err("pay_invoice", invoice_id=invoice["id"])
    assert refused["code"] == "invalid_state"
    clock.advance(days=60)
    await settle(clocked_stack)
    assert len(await invoices_of(agent, sub["id"])) == 1, "an expired subscription never renews"


async def test_an_off_session_charge_that_needs_3ds_leaves_the_invoice_open_as_authentication_required(
    agent: Agent,
) -> None:
    p = await plan(agent)
    created = await subscribe(agent, p["id"], "pm_card_threeDSecureRequired")
    assert created["subscription"]["status"] == "incomplete"
    assert (created["invoice"]["status"], created["invoice"]["last_decline_code"]) == (
        "open",
        "authentication_required",
    )


async def test_a_charge_failing_at_the_end_of_the_trial_makes_the_subscription_past_due(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clock_of(clocked_stack)
    p = await plan(agent, trial_days=7)
    sub = (await subscribe(agent, p["id"], "pm_card_chargeDeclined"))["subscription"]
    assert sub["status"] == "trialing", "a trial charges nothing, so the card is not tried yet"

    clock.advance(days=7)
    await settle(clocked_stack)
    [invoice] = await invoices_of(agent, sub["id"])
    assert (invoice["status"], invoice["attempts"], invoice["last_decline_code"]) == ("open", 1, "card_declined")
    current = await agent.ok("get_subscription", subscription_id=sub["id"])
    assert (current["status"], current["current_period_start"]) == ("past_due", "2026-01-08T00:00:00Z")


async def test_a_paid_invoice_cannot_be_paid_again(agent: Agent) -> None:
    p = await plan(agent)
    paid = (await subscribe(agent, p["id"]))["invoice"]
    refused = await agent.err("pay_invoice", invoice_id=paid["id"])
    assert refused["code"] == "invalid_state"
    assert "only an open invoice" in refused["message"]
    after = await agent.ok("get_invoice", invoice_id=paid["id"])
    assert (after["attempts"], after["payment_id"]) == (1, paid["payment_id"])


async def test_subscriptions_are_listed_by_customer_and_status(agent: Agent) -> None:
    p = await plan(agent)
    active = (await subscribe(agent, p["id"]))["subscription"]
    trialing = (await subscribe(agent, p["id"], trial_days=7))["subscription"]
    assert [s["id"] for s in (await agent.ok("list_subscriptions"))["subscriptions"]] == [active["id"], trialing["id"]]
    only = await agent.ok("list_subscriptions", status="trialing")
    assert [s["id"] for s in only["subscriptions"]] == [trialing["id"]]
    mine = await agent.ok("list_subscriptions", customer_id=active["customer_id"], limit=1)
    assert ([s["id"] for s in mine["subscriptions"]], mine["next_cursor"]) == ([active["id"]], None)
    page = await agent.ok("list_subscriptions", limit=1)
    assert page["next_cursor"] is not None
    rest = await agent.ok("list_subscriptions", limit=1, cursor=page["next_cursor"])
    assert [s["id"] for s in rest["subscriptions"]] == [trialing["id"]]
    by_customer = await agent.ok("list_invoices", customer_id=active["customer_id"])
    assert len(by_customer["invoices"]) == 1


@pytest.mark.parametrize(
    ("tool", "arguments", "code"),
    [
        ("get_subscription", {"subscription_id": "sub_00000000000000000000000000"}, "subscription_not_found"),
        ("get_invoice", {"invoice_id": "inv_00000000000000000000000000"}, "invoice_not_found"),
        ("pay_invoice", {"invoice_id": "inv_00000000000000000000000000"}, "invoice_not_found"),
    ],
)
async def test_unknown_ids_are_named_in_the_error(
    agent: Agent, tool: str, arguments: dict[str, str], code: str
) -> None:
    refused = await agent.err(tool, **arguments)
    assert refused["code"] == code
    assert next(iter(arguments.values())) in refused["message"]


async def test_subscribing_to_an_unknown_plan_or_customer_or_with_an_unknown_card_writes_nothing(
    agent: Agent, clocked_stack: Stack
) -> None:
    p = await plan(agent)
    cus = await customer(agent)
    unknown_plan = await agent.err(
        "create_subscription", customer_id=cus, plan_id="plan_0000000000000000", payment_method="pm_card_visa"
    )
    unknown_customer = await agent.err(
        "create_subscription", customer_id="cus_000000000000", plan_id=p["id"], payment_method="pm_card_visa"
    )
    unknown_card = await agent.err("create_subscription", customer_id=cus, plan_id=p["id"], payment_method="pm_nope")
    assert [e["code"] for e in (unknown_plan, unknown_customer, unknown_card)] == [
        "plan_not_found",
        "customer_not_found",
        "unknown_payment_method",
    ]
    async with engine(clocked_stack).connect() as conn:
        count = await conn.execute(select(func.count()).select_from(tables.subscriptions))
        assert count.scalar_one() == 0
    assert (await agent.ok("list_plans"))["plans"][0]["used"] is False


async def test_the_jobs_lag_is_how_long_the_oldest_renewal_and_expiry_have_been_due(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clock_of(clocked_stack)
    p = await plan(agent)
    await subscribe(agent, p["id"], trial_days=1)
    await subscribe(agent, p["id"], "pm_card_chargeDeclined")
    clock.advance(days=1, hours=2)
    jobs = {job["name"]: job for job in (await agent.ok("list_background_jobs"))["jobs"]}
    assert jobs["renew_subscriptions"]["lag_seconds"] == 2 * 3600.0
    assert jobs["expire_incomplete_subscriptions"]["lag_seconds"] == 3 * 3600.0
    await settle(clocked_stack)
    jobs = {job["name"]: job for job in (await agent.ok("list_background_jobs"))["jobs"]}
    assert jobs["renew_subscriptions"]["lag_seconds"] is None
    assert jobs["expire_incomplete_subscriptions"]["lag_seconds"] is None
