"""Refunds: partial, never more than was captured (also when they race), and failing later."""

from contextlib import AsyncExitStack
from typing import Any

import anyio
import pytest
from mcp.client import Client

from mcp_payments.adapters.providers.sandbox import SandboxProvider
from mcp_payments.bootstrap import sweep_once
from tests.conftest import Stack
from tests.payments.agent import Agent, body_of
from tests.payments.card_scan import dump_database
from tests.payments.conftest import engine

pytestmark = pytest.mark.anyio


async def test_partial_refunds_add_up_to_at_most_what_was_captured(agent: Agent) -> None:
    payment = await agent.pay("100.00")

    first = await agent.ok("refund_payment", payment_id=payment["id"], amount="30.00", reason="damaged")
    second = await agent.ok("refund_payment", payment_id=payment["id"], amount_minor=5000)
    rest = await agent.ok("refund_payment", payment_id=payment["id"])

    assert [r["refund"]["amount"]["amount"] for r in (first, second, rest)] == ["30.00", "50.00", "20.00"]
    assert {r["refund"]["status"] for r in (first, second, rest)} == {"succeeded"}
    assert first["refund"]["reason"] == "damaged"
    assert [r["payment"]["amount_refunded"]["amount"] for r in (first, second, rest)] == ["30.00", "80.00", "100.00"]
    view = await agent.payment(payment["id"])
    assert view["payment"]["status"] == "succeeded"
    assert [r["amount"]["amount_minor"] for r in view["refunds"]] == [3000, 5000, 2000]
    assert [t["kind"] for t in view["ledger"]] == ["payment_capture", "refund", "refund", "refund"]
    nothing_left = await agent.err("refund_payment", payment_id=payment["id"], amount="0.01")
    assert nothing_left["code"] == "refund_exceeds_captured"
    assert nothing_left["details"]["refundable"] == "0.00"


async def test_a_refund_over_what_is_left_is_rejected_and_changes_nothing(agent: Agent, clocked_stack: Stack) -> None:
    payment = await agent.pay("100.00")
    await agent.ok("refund_payment", payment_id=payment["id"], amount="40.00")
    before = await dump_database(engine(clocked_stack))

    refused = await agent.err("refund_payment", payment_id=payment["id"], amount="60.01")

    assert refused["code"] == "refund_exceeds_captured"
    assert refused["retryable"] is False
    assert refused["details"] == {"payment_id": payment["id"], "refundable": "60.00"}
    assert "60.00 USD left to refund of 100.00 USD captured" in refused["message"]
    assert await dump_database(engine(clocked_stack)) == before, "no refund row, no entry, no audit record"


@pytest.mark.parametrize("method", ["pm_card_chargeDeclined", "pm_card_threeDSecureRequired"])
async def test_a_payment_that_has_not_succeeded_cannot_be_refunded(agent: Agent, method: str) -> None:
    result = await agent.call("create_payment", currency="USD", amount="10.00", payment_method=method)
    body: Any = body_of(result)
    payment_id = body["details"]["payment_id"] if result.is_error else body["payment"]["id"]

    refused = await agent.err("refund_payment", payment_id=payment_id)

    assert refused["code"] == "invalid_state"
    assert "only a succeeded payment can be refunded" in refused["message"]


async def test_a_refund_of_an_unknown_payment_is_not_found(agent: Agent) -> None:
    refused = await agent.err("refund_payment", payment_id="pay_01ARZ3NDEKTSV4RRFFQ69G5FAV")

    assert refused["code"] == "payment_not_found"


async def refund_concurrently(stack: Stack, payment_id: str, calls: int, **arguments: Any) -> list[dict[str, Any]]:
    """`calls` refunds at once, each from its own MCP client, each with its own idempotency key. A slow
    provider keeps every call inside its transaction long enough for the others to collide with it."""
    stack.services.get(SandboxProvider).latency = 0.02  # the sandbox's test knob
    results: list[dict[str, Any]] = []
    async with AsyncExitStack() as stack_of_clients:
        clients = [await stack_of_clients.enter_async_context(Client(stack.server)) for _ in range(calls)]

        async def refund(i: int) -> None:
            result = await clients[i].call_tool(
                "refund_payment", {"payment_id": payment_id, "idempotency_key": f"race-refund-{i}", **arguments}
            )
            results.append(body_of(result))

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for i in range(calls):
                    tg.start_soon(refund, i)
    return results


async def test_concurrent_partial_refunds_never_exceed_what_was_captured(agent: Agent, clocked_stack: Stack) -> None:
    payment = await agent.pay("100.00")

    results = await refund_concurrently(clocked_stack, payment["id"], 10, amount="30.00")

    codes = sorted(r.get("code", "ok") for r in results)
    assert codes == ["ok"] * 3 + ["refund_exceeds_captured"] * 7
    view = await agent.payment(payment["id"])
    assert view["payment"]["amount_refunded"]["amount"] == "90.00"
    assert len(view["refunds"]) == 3
    assert [t["kind"] for t in view["ledger"]].count("refund") == 3


async def test_concurrent_full_refunds_refund_the_payment_exactly_once(agent: Agent, clocked_stack: Stack) -> None:
    payment = await agent.pay("55.55")

    results = await refund_concurrently(clocked_stack, payment["id"], 6)

    assert sorted(r.get("code", "ok") for r in results) == ["ok"] + ["refund_exceeds_captured"] * 5
    view = await agent.payment(payment["id"])
    assert view["payment"]["amount_refunded"]["amount"] == "55.55"
    assert [r["amount"]["amount"] for r in view["refunds"]] == ["55.55"]


async def test_a_refund_the_issuer_refuses_later_fails_and_gives_the_money_back(
    agent: Agent, clocked_stack: Stack
) -> None:
    payment = await agent.pay("40.00", "pm_card_refundFail")

    pending = await agent.ok("refund_payment", payment_id=payment["id"], amount="15.00")

    assert pending["refund"]["status"] == "pending"
    assert pending["payment"]["amount_refunded"]["amount"] == "15.00", "a pending refund counts against the payment"
    assert await sweep_once(clocked_stack.services) >= 1
    view = await agent.payment(payment["id"])
    [refund] = view["refunds"]
    assert refund["status"] == "failed"
    assert refund["failure_reason"] == "the card issuer refused the refund"
    assert view["payment"]["amount_refunded"]["amount_minor"] == 0
    assert [t["kind"] for t in view["ledger"]] == ["payment_capture", "refund", "refund_reversal"]
    assert [e["type"] for e in view["events"]][-2:] == ["refund.pending", "refund.failed"]
    again = await agent.ok("refund_payment", payment_id=payment["id"], amount="40.00")
    assert again["refund"]["status"] == "pending", "after the failure the whole amount may be refunded again"
