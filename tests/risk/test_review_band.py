"""A payment in the review band waits for an operator's approval, as a call above approval_above does, and runs once
when approved, scored again but not held again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mcp_payments.domain.approvals import Approval, Status
from mcp_payments.domain.roles import Role
from mcp_payments.services.approvals import pending_result
from tests.conftest import Stack
from tests.controls.test_approvals import client_as
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"risk_review_score": 40}  # a new customer's large payment on a foreign card (25 + 15) is reviewed


async def test_a_payment_in_the_review_band_is_held_and_runs_once_when_an_operator_approves(stack: Stack) -> None:
    async with client_as(stack, "key:bot", Role.AGENT) as bot, client_as(stack, "key:ops", Role.OPERATOR) as ops:
        agent = Agent(bot)
        customer = (await agent.ok("create_customer", email="new@example.com", country="US"))["customer"]["id"]
        arguments = {"currency": "USD", "amount": "1000.00", "payment_method": "pm_card_gb", "customer_id": customer}

        held = await agent.ok("create_payment", **arguments, idempotency_key="big-payment-0001")
        again = await agent.ok("create_payment", **arguments, idempotency_key="big-payment-0001")
        assert (await agent.ok("list_payments"))["payments"] == []
        approval = await agent.ok("get_approval", approval_id=held["approval_id"])
        decided = await Agent(ops).ok("approve_request", approval_id=held["approval_id"])

    assert held["status"] == "pending_approval"
    assert "fraud score 40 is in the review band (40-79)" in held["message"]
    assert again["approval_id"] == held["approval_id"]
    assert again["deduplicated"]
    assert approval["held_for"] == "risk_review"
    assert approval["threshold"]["amount_minor"] == 0
    assert decided["approval"]["status"] == "executed"
    [payment_id] = [i for i in decided["approval"]["result"]["entity_ids"] if i.startswith("pay_")]
    async with client_as(stack, "key:bot", Role.AGENT) as bot:
        agent = Agent(bot)
        made = await agent.payment(payment_id)
        alerts = (await agent.ok("list_fraud_alerts"))["alerts"]
    assert made["payment"]["status"] == "succeeded"
    assert made["risk"]["decision"] == "review"
    assert made["risk"]["score"] == 40
    assert [r["rule"] for r in made["risk"]["reasons"]] == ["country", "new_customer"]
    assert [(a["approval_id"], a["requested_by"]) for a in alerts] == [(held["approval_id"], "key:bot")]


async def test_a_raw_card_number_in_the_review_band_cannot_wait_and_says_why(stack: Stack) -> None:
    async with client_as(stack, "key:bot", Role.AGENT) as bot:
        agent = Agent(bot)
        customer = (await agent.ok("create_customer", email="new@example.com", country="GB"))["customer"]["id"]
        refused = await agent.err(
            "create_payment",
            currency="USD",
            amount="1000.00",
            card_number="4242424242424242",
            card_exp_month=12,
            card_exp_year=2040,
            customer_id=customer,
        )

    assert refused["code"] == "approval_needs_saved_payment_method"
    assert "fraud score 40 is in the review band" in refused["message"]
    assert refused["details"]["limit"] == "risk_review"


@pytest.mark.parametrize(
    ("held_for", "phrase"),
    [
        ("approval_above", "create_payment for 1000.00 USD is above your approval threshold of 500.00 USD"),
        ("risk_review", "create_payment for 1000.00 USD waits for a fraud review"),
        ("sanctions_review", "create_payment for 1000.00 USD waits for a compliance review of its payee"),
    ],
)
def test_a_held_calls_answer_read_back_from_its_approval_says_what_it_waits_for(held_for: str, phrase: str) -> None:
    """An elicited call's later round answers from the stored approval, without the hold's own sentence."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    threshold = 50000 if held_for == "approval_above" else 0
    approval = Approval(
        "apr_1", "create_payment", "key:bot", "agent", None, {}, "USD", 100000, None, threshold,
        Status.PENDING, now, now + timedelta(hours=1), held_for=held_for,
    )  # fmt: skip

    message = pending_result(approval)["message"]

    assert message.startswith(phrase)
    assert "threshold of 0.00" not in message
