"""A full refund after the proceeds were moved into a wallet and withdrawn: the merchant balance goes negative.

That is a debt, as a processor tracks it: the customer gets the refund, the debt shows in
get_service_health and check_ledger_integrity, and new proceeds repay it before any can fund a wallet.
"""

import pytest

from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio


async def spent_proceeds(agent: Agent, amount: str) -> tuple[str, str]:
    """A payment whose net proceeds were moved into a wallet and paid out of the ledger; (payment, wallet)."""
    payment = await agent.pay(amount)
    wallet = (await agent.ok("create_wallet", currency="USD", name="payouts"))["wallet"]["id"]
    moved = await agent.ok("fund_wallet", wallet_id=wallet, payment_id=payment["id"])
    await agent.ok(
        "withdraw_from_wallet",
        wallet_id=wallet,
        currency="USD",
        amount=moved["wallet"]["available"]["amount"],
        idempotency_key=f"payout-{payment['id']}",
    )
    return payment["id"], wallet


async def test_a_full_refund_of_spent_proceeds_is_made_and_the_merchant_owes_it(agent: Agent) -> None:
    payment, _ = await spent_proceeds(agent, "100.00")

    refund = await agent.ok("refund_payment", payment_id=payment)
    health = await agent.ok("get_service_health")
    report = await agent.ok("check_ledger_integrity")

    assert refund["refund"]["status"] == "succeeded"
    owed = {"amount": "100.00", "amount_minor": 10000, "currency": "USD"}
    assert health["merchant_debt"] == [owed]
    assert health["status"] == "ok"
    assert report["ok"], "a debt is reported, not a broken invariant"
    assert report["merchant_debt"] == [owed]


async def test_new_proceeds_repay_the_debt_before_any_can_fund_a_wallet(agent: Agent) -> None:
    first, wallet = await spent_proceeds(agent, "100.00")
    await agent.ok("refund_payment", payment_id=first)
    second = await agent.pay("200.00")  # nets 193.90: 100.00 repays the debt, 93.90 is free

    too_much = await agent.err("fund_wallet", wallet_id=wallet, payment_id=second["id"])
    allowed = await agent.ok("fund_wallet", wallet_id=wallet, payment_id=second["id"], amount="93.90")
    health = await agent.ok("get_service_health")

    assert too_much["code"] == "payment_not_allocatable"
    assert too_much["details"]["merchant_balance"] == "93.90"
    assert too_much["details"]["allocatable"] == "93.90"
    assert "proceeds repay that first; move at most 93.90 USD" in too_much["message"]
    assert allowed["wallet"]["available"]["amount"] == "93.90"
    assert health["merchant_debt"] == []
    nothing_left = await agent.err(
        "fund_wallet", wallet_id=wallet, payment_id=second["id"], amount="0.01", idempotency_key="one-more-cent"
    )
    assert nothing_left["code"] == "payment_not_allocatable"


async def test_without_refunds_or_disputes_there_is_no_debt(agent: Agent) -> None:
    await agent.pay("10.00")

    assert (await agent.ok("get_service_health"))["merchant_debt"] == []
    assert (await agent.ok("check_ledger_integrity"))["merchant_debt"] == []
