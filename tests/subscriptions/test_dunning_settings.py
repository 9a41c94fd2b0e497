"""The deployment's dunning settings reach the renewals: one retry a day after the first failure, then unpaid."""

from typing import Any

import pytest

from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.payments.signed_events import OLD_WEBHOOK_SECRET, SECRET_KEY, WEBHOOK_SECRET
from tests.subscriptions.conftest import clock_of, plan, settle, subscribe
from tests.subscriptions.test_subscriptions import invoices_of

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    known = {"secret_key": SECRET_KEY, "webhook_secrets": (WEBHOOK_SECRET, OLD_WEBHOOK_SECRET)}
    return {**known, "dunning_retry_days": (1,), "dunning_final": "unpaid"}


async def test_the_configured_schedule_and_final_state_are_used(agent: Agent, clocked_stack: Stack) -> None:
    clock = clock_of(clocked_stack)
    sub = await subscribe(agent, (await plan(agent, trial_days=1))["id"], "pm_card_chargeCustomerFail")
    sub_id = sub["subscription"]["id"]
    clock.advance(days=1)
    await settle(clocked_stack)
    [invoice] = await invoices_of(agent, sub_id)
    assert (invoice["attempts"], invoice["next_attempt_at"]) == (1, "2026-01-03T00:00:00Z")
    clock.advance(days=1)
    await settle(clocked_stack)
    [invoice] = await invoices_of(agent, sub_id)
    assert (invoice["attempts"], invoice["status"], invoice["next_attempt_at"]) == (2, "open", None)
    assert (await agent.ok("get_subscription", subscription_id=sub_id))["status"] == "unpaid"
    await agent.ok("update_subscription", subscription_id=sub_id, default_payment_method="pm_card_visa")
    paid = await agent.ok("pay_invoice", invoice_id=invoice["id"])
    assert (paid["invoice"]["status"], paid["subscription"]["status"]) == ("paid", "active")
