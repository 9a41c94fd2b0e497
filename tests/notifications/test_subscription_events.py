"""Subscriptions publish subscription.* and invoice.* events, in the transaction of the change."""

import pytest

from tests.conftest import Stack
from tests.notifications.conftest import deliver, endpoint
from tests.notifications.receiver import receiving
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio

TYPES = ("subscription.created", "subscription.canceled", "invoice.created", "invoice.paid", "invoice.payment_failed")


async def test_subscriptions_and_their_invoices_are_published(clocked_stack: Stack, admin: Agent) -> None:
    with receiving() as receiver:
        secret = (await endpoint(admin, receiver.url, *TYPES))["secret"]
        customer = (await admin.ok("create_customer", email="s@example.com", name="Sub Scriber"))["customer"]["id"]
        plan = (await admin.ok("create_plan", name="Pro", currency="USD", amount="9.00", interval="month"))["plan"]
        paid = await admin.ok(
            "create_subscription", customer_id=customer, plan_id=plan["id"], payment_method="pm_card_visa"
        )
        declined = await admin.ok(
            "create_subscription", customer_id=customer, plan_id=plan["id"], payment_method="pm_card_chargeDeclined"
        )
        await admin.ok("cancel_subscription", subscription_id=paid["subscription"]["id"])
        await deliver(clocked_stack)
        got = receiver.all()
    assert all(r.verifies(secret) for r in got)
    seen = [(r.event["type"], r.event["data"]["id"]) for r in got]
    assert seen == [
        ("subscription.created", paid["subscription"]["id"]),
        ("invoice.created", paid["invoice"]["id"]),
        ("invoice.paid", paid["invoice"]["id"]),
        ("subscription.created", declined["subscription"]["id"]),
        ("invoice.created", declined["invoice"]["id"]),
        ("invoice.payment_failed", declined["invoice"]["id"]),
        ("subscription.canceled", paid["subscription"]["id"]),
    ]
    assert got[2].event["data"]["total"] == 900
