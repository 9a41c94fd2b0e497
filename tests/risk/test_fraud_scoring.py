"""Fraud scoring on both databases: every create_payment is scored in its own transaction and keeps the score; a
card-testing burst on one card goes from declines to a hold to a refusal with its reasons, and the refusal writes
nothing but its audit record and its alert."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.client import Client

from tests.conftest import Stack
from tests.payments.agent import Agent, body_of
from tests.server.rows import row_counter

pytestmark = pytest.mark.anyio


async def probe(agent: Agent, n: int, amount: str = "1.00") -> tuple[str, dict[str, Any]]:
    """One small charge on the declining test card: the error code, or the status of a held call."""
    result = await agent.call(
        "create_payment",
        currency="USD",
        amount=amount,
        payment_method="pm_card_chargeDeclined",
        idempotency_key=f"card-probe-{n:04d}",
    )
    body = body_of(result)
    return (body["code"] if result.is_error else body["status"]), body


async def test_a_card_testing_burst_is_held_then_blocked_with_its_reasons(client: Client, stack: Stack) -> None:
    agent = Agent(client)
    outcomes = [(await probe(agent, n))[0] for n in range(5)]
    async with row_counter(stack.settings.db_url) as count:
        before = await count()
        code, blocked = await probe(agent, 5)
        after = await count()

    assert outcomes == ["card_declined"] * 4 + ["pending_approval"]
    assert code == "risk_blocked"
    details = blocked["details"]
    assert details["score"] == 80
    assert details["block_threshold"] == 80
    assert [r["rule"] for r in details["reasons"]] == ["velocity", "card_testing"]
    assert "card testing: 5 failed attempts of at most 5.00 USD" in blocked["message"]
    assert "(4 declined, 1 held or refused)" in blocked["message"]
    assert "Nothing was charged" in blocked["message"]
    changed = {table: after[table] - before[table] for table in after if after[table] != before[table]}
    assert changed == {"audit_log": 1, "risk_assessments": 1}, "a refusal writes its audit record and alert only"

    alerts = (await agent.ok("list_fraud_alerts"))["alerts"]
    assert [a["risk"]["decision"] for a in alerts] == ["block", "review"]
    assert alerts[0]["id"] == details["alert_id"]
    assert alerts[0]["approval_id"] is None
    assert alerts[0]["card_last4"] == "0002"
    assert alerts[0]["amount"]["amount"] == "1.00"
    assert alerts[1]["approval_id"] is not None
    assert alerts[1]["risk"]["score"] == 60
    records = (await agent.ok("get_audit_log", limit=100))["records"]
    refused = [r for r in records if r["outcome"] == "risk_blocked"]
    assert len(refused) == 1
    assert details["alert_id"] in refused[0]["entity_ids"]


async def test_a_burst_of_declines_of_larger_amounts_is_not_card_testing(client: Client) -> None:
    agent = Agent(client)
    outcomes = [(await probe(agent, n, amount="50.00"))[0] for n in range(6)]

    assert outcomes == ["card_declined"] * 6  # velocity alone stays under the review score


async def test_every_payment_keeps_its_score_and_get_payment_shows_it(client: Client) -> None:
    agent = Agent(client)
    made = await agent.ok("create_payment", currency="USD", amount="12.00", payment_method="pm_card_visa")

    assert made["risk"] == {"score": 0, "decision": "allow", "reasons": []}
    assert (await agent.payment(made["payment"]["id"]))["risk"] == made["risk"]


async def test_an_amount_far_above_the_customers_history_and_a_foreign_card_raise_the_score(client: Client) -> None:
    agent = Agent(client)
    customer = (await agent.ok("create_customer", name="Ada Example", country="US"))["customer"]["id"]
    for n in range(3):
        await agent.pay("10.00", customer_id=customer, idempotency_key=f"usual-payment-{n:04d}")

    assessed = await agent.ok(
        "assess_payment_risk", currency="USD", amount="150.00", payment_method="pm_card_gb", customer_id=customer
    )

    assert assessed["score"] == 45
    assert assessed["decision"] == "allow"
    assert [(r["rule"], r["points"]) for r in assessed["reasons"]] == [("amount", 30), ("country", 15)]
    assert (
        assessed["reasons"][0]["text"]
        == "amount is 15.0x the customer's average of 10.00 USD over their last 3 paid payments"
    )
    assert assessed["reasons"][1]["text"] == "card issued in GB, customer in US"
    assert (assessed["review_threshold"], assessed["block_threshold"]) == (50, 80)


async def test_assessing_a_payment_writes_nothing(client: Client, stack: Stack) -> None:
    agent = Agent(client)
    async with row_counter(stack.settings.db_url) as count:
        before = await count()
        await agent.ok("assess_payment_risk", currency="USD", amount="5.00", payment_method="pm_card_visa")
        assert await count() == before


async def test_fraud_alerts_come_a_page_at_a_time(client: Client) -> None:
    agent = Agent(client)
    for n in range(7):
        await probe(agent, n)  # 4 declines, a hold, then two refusals

    first = await agent.ok("list_fraud_alerts", limit=2)
    second = await agent.ok("list_fraud_alerts", limit=2, cursor=first["next_cursor"])
    held = await agent.ok("list_fraud_alerts", decision="review")

    assert [a["risk"]["decision"] for a in first["alerts"] + second["alerts"]] == ["block", "block", "review"]
    assert second["next_cursor"] is None
    assert [a["risk"]["decision"] for a in held["alerts"]] == ["review"]
