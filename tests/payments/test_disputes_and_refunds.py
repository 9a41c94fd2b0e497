"""Disputes meet refunds: the customer gets the money back once, by refund or by dispute, never by both.

The dispute comes from the sandbox's dispute card (pm_card_createDispute), queued by the provider at
capture and delivered by due work (sweep_once), the way a running server receives it.
"""

import uuid
from typing import Any

import pytest

from mcp_payments.bootstrap import sweep_once
from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.payments.card_scan import dump_database
from tests.payments.conftest import engine

pytestmark = pytest.mark.anyio

MERCHANT = "acc_merchant_USD"
DISPUTES = "acc_disputes_USD"


async def disputed_payment(agent: Agent, stack: Stack, amount: str = "100.00", refunded: str | None = None) -> str:
    """A payment on the dispute card, refunded by `refunded` (if given) before its dispute is delivered."""
    payment = await agent.pay(amount, "pm_card_createDispute")
    if refunded is not None:
        await agent.ok("refund_payment", payment_id=payment["id"], amount=refunded)
    await agent.ledger_ok()
    assert await sweep_once(stack.services) >= 1, "the dispute is delivered"
    view = await agent.payment(payment["id"])
    assert view["payment"]["disputed"] is True
    await agent.ledger_ok()
    return str(payment["id"])


def moved(transaction: dict[str, Any], account: str) -> int:
    """What a transaction moved in or out of one account, in minor units (negative: out)."""
    return sum(e["amount"]["amount_minor"] for e in transaction["entries"] if e["account_id"] == account)


async def wallet(agent: Agent) -> str:
    name = f"proceeds {uuid.uuid4().hex[:8]}"
    return str((await agent.ok("create_wallet", currency="USD", name=name))["wallet"]["id"])


async def test_a_dispute_after_a_partial_refund_takes_back_only_what_was_not_refunded(
    agent: Agent, clocked_stack: Stack
) -> None:
    payment_id = await disputed_payment(agent, clocked_stack, "100.00", refunded="35.00")

    view = await agent.payment(payment_id)
    assert [t["kind"] for t in view["ledger"]] == ["payment_capture", "refund", "dispute"]
    capture, refund, dispute = view["ledger"]
    assert moved(dispute, MERCHANT) == -6500
    assert moved(dispute, DISPUTES) == 6500
    assert moved(refund, MERCHANT) + moved(dispute, MERCHANT) == -view["payment"]["amount_received"]["amount_minor"], (
        "refund and dispute together give back exactly what was captured, never more"
    )
    assert moved(capture, MERCHANT) == 10000 - view["payment"]["fee"]["amount_minor"]
    [disputed_event] = [e for e in view["events"] if e["type"] == "payment.disputed"]
    assert disputed_event["data"] == {"amount": 6500}
    assert view["payment"]["amount_refunded"]["amount"] == "35.00", "the refund stays as it was"


async def test_a_fully_refunded_payment_that_is_then_disputed_posts_nothing_more(
    agent: Agent, clocked_stack: Stack
) -> None:
    payment_id = await disputed_payment(agent, clocked_stack, "42.00", refunded="42.00")

    view = await agent.payment(payment_id)
    assert [t["kind"] for t in view["ledger"]] == ["payment_capture", "refund"], "no dispute posting"
    [disputed_event] = [e for e in view["events"] if e["type"] == "payment.disputed"]
    assert disputed_event["data"] == {"amount": 0}
    assert await sweep_once(clocked_stack.services) == 0, "the dispute is not applied again"


async def test_a_dispute_without_refunds_takes_back_the_whole_captured_amount(
    agent: Agent, clocked_stack: Stack
) -> None:
    payment_id = await disputed_payment(agent, clocked_stack, "60.00")

    view = await agent.payment(payment_id)
    [_, dispute] = view["ledger"]
    assert (moved(dispute, MERCHANT), moved(dispute, DISPUTES)) == (-6000, 6000)
    assert [e["data"] for e in view["events"] if e["type"] == "payment.disputed"] == [{"amount": 6000}]


@pytest.mark.parametrize("refunded", [None, "10.00"])
async def test_a_disputed_payment_cannot_be_refunded_and_the_refusal_writes_nothing(
    agent: Agent, clocked_stack: Stack, refunded: str | None
) -> None:
    payment_id = await disputed_payment(agent, clocked_stack, "100.00", refunded=refunded)
    before = await dump_database(engine(clocked_stack))

    everything = await agent.err("refund_payment", payment_id=payment_id)
    part = await agent.err("refund_payment", payment_id=payment_id, amount="1.00", idempotency_key="after-dispute")

    for refused in (everything, part):
        assert refused["code"] == "invalid_state"
        assert refused["retryable"] is False
        assert "disputed" in refused["message"]
    assert everything["details"] == {"payment_id": payment_id}
    assert part["details"] == {"payment_id": payment_id, "idempotency_key_reusable": True}
    assert await dump_database(engine(clocked_stack)) == before, "no refund row, no entry, no audit record"
    await agent.ledger_ok()


async def test_a_disputed_payment_cannot_fund_a_wallet_and_the_refusal_writes_nothing(
    agent: Agent, clocked_stack: Stack
) -> None:
    payment_id = await disputed_payment(agent, clocked_stack, "100.00", refunded="20.00")
    wallet_id = await wallet(agent)
    before = await dump_database(engine(clocked_stack))

    everything = await agent.err("fund_wallet", wallet_id=wallet_id, payment_id=payment_id)
    part = await agent.err("fund_wallet", wallet_id=wallet_id, payment_id=payment_id, amount="1.00")

    for refused in (everything, part):
        assert refused["code"] == "payment_not_allocatable"
        assert refused["details"] == {"payment_id": payment_id, "allocatable": "0.00"}
    assert await dump_database(engine(clocked_stack)) == before
    assert (await agent.ok("get_wallet", wallet_id=wallet_id))["posted"]["amount_minor"] == 0
    await agent.ledger_ok()


async def test_proceeds_that_were_not_disputed_yet_can_fund_a_wallet_until_the_dispute_arrives(
    agent: Agent, clocked_stack: Stack
) -> None:
    payment = await agent.pay("100.00", "pm_card_createDispute")
    wallet_id = await wallet(agent)

    await agent.ok("fund_wallet", wallet_id=wallet_id, payment_id=payment["id"], amount="30.00")
    await sweep_once(clocked_stack.services)
    refused = await agent.err("fund_wallet", wallet_id=wallet_id, payment_id=payment["id"], amount="1.00")

    assert refused["code"] == "payment_not_allocatable"
    view = await agent.payment(payment["id"])
    assert [t["kind"] for t in view["ledger"]] == ["payment_capture", "fund_from_payment", "dispute"]
    assert moved(view["ledger"][-1], MERCHANT) == -10000, "nothing was refunded, so all is disputed"
    assert (await agent.ok("get_wallet", wallet_id=wallet_id))["posted"]["amount"] == "30.00"
    await agent.ledger_ok()
