"""fund_wallet with payment_id: a succeeded payment's net proceeds (after fees and refunds) move into a wallet,
at most once in total."""

import uuid
from contextlib import AsyncExitStack
from typing import Any

import anyio
import pytest
from mcp.client import Client

from tests.conftest import Stack
from tests.payments.agent import Agent, body_of
from tests.payments.card_scan import dump_database
from tests.payments.conftest import engine

pytestmark = pytest.mark.anyio


async def wallet(agent: Agent, currency: str = "USD") -> str:
    name = f"proceeds {currency} {uuid.uuid4().hex[:8]}"  # distinct, or a second one is a deduplicated retry
    return str((await agent.ok("create_wallet", currency=currency, name=name))["wallet"]["id"])


async def test_funding_from_a_payment_moves_its_net_proceeds_into_the_wallet(agent: Agent) -> None:
    payment = await agent.pay("100.00")
    wallet_id = await wallet(agent)

    moved = await agent.ok("fund_wallet", wallet_id=wallet_id, payment_id=payment["id"])

    assert payment["fee"]["amount"] == "3.20"
    assert moved["wallet"]["available"]["amount"] == "96.80"
    assert moved["transaction"]["kind"] == "fund_from_payment"
    assert {e["account_id"]: e["amount"]["amount"] for e in moved["transaction"]["entries"]} == {
        "acc_merchant_USD": "-96.80",
        wallet_id: "96.80",
    }
    assert [t["kind"] for t in (await agent.payment(payment["id"]))["ledger"]] == [
        "payment_capture",
        "fund_from_payment",
    ]
    assert (await agent.ok("get_wallet", wallet_id=wallet_id))["posted"]["amount"] == "96.80"
    none_left = await agent.err(
        "fund_wallet", wallet_id=wallet_id, payment_id=payment["id"], idempotency_key="fund-again-1"
    )
    assert none_left["code"] == "payment_not_allocatable"
    assert none_left["details"]["allocatable"] == "0.00"


async def test_proceeds_can_be_moved_in_parts_but_not_beyond_what_is_left_after_refunds(
    agent: Agent, clocked_stack: Stack
) -> None:
    payment = await agent.pay("100.00")
    await agent.ok("refund_payment", payment_id=payment["id"], amount="30.00")
    wallet_id = await wallet(agent)

    await agent.ok("fund_wallet", wallet_id=wallet_id, payment_id=payment["id"], amount="50.00")
    before = await dump_database(engine(clocked_stack))
    too_much = await agent.err("fund_wallet", wallet_id=wallet_id, payment_id=payment["id"], amount="16.81")
    assert await dump_database(engine(clocked_stack)) == before
    rest = await agent.ok("fund_wallet", wallet_id=wallet_id, payment_id=payment["id"])

    assert too_much["code"] == "payment_not_allocatable"
    assert too_much["details"]["allocatable"] == "16.80", "100.00 - 3.20 fee - 30.00 refunded - 50.00 moved"
    assert rest["wallet"]["available"]["amount"] == "66.80"


@pytest.mark.parametrize("setup", ["authorized", "declined", "canceled"])
async def test_only_a_succeeded_payment_can_fund_a_wallet(agent: Agent, clocked_stack: Stack, setup: str) -> None:
    if setup == "declined":
        payment_id = (
            await agent.err("create_payment", currency="USD", amount="10.00", payment_method="pm_card_chargeDeclined")
        )["details"]["payment_id"]
    else:
        payment_id = (await agent.pay("10.00", capture_method="manual"))["id"]
        if setup == "canceled":
            await agent.ok("cancel_payment", payment_id=payment_id)
    wallet_id = await wallet(agent)
    before = await dump_database(engine(clocked_stack))

    refused = await agent.err("fund_wallet", wallet_id=wallet_id, payment_id=payment_id)

    assert refused["code"] == "invalid_state"
    assert await dump_database(engine(clocked_stack)) == before


@pytest.mark.parametrize("target", ["EUR wallet", "unknown wallet"])
async def test_funding_a_wallet_that_cannot_take_the_proceeds_changes_nothing(
    agent: Agent, clocked_stack: Stack, target: str
) -> None:
    payment = await agent.pay("100.00")
    wallet_id = await wallet(agent, "EUR") if target == "EUR wallet" else "wal_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    before = await dump_database(engine(clocked_stack))

    refused = await agent.err("fund_wallet", wallet_id=wallet_id, payment_id=payment["id"])

    assert refused["code"] == {"EUR wallet": "currency_mismatch", "unknown wallet": "wallet_not_found"}[target]
    assert await dump_database(engine(clocked_stack)) == before


async def test_concurrent_funding_from_one_payment_moves_its_proceeds_at_most_once(
    agent: Agent, clocked_stack: Stack
) -> None:
    payment = await agent.pay("100.00")
    wallets = [await wallet(agent) for _ in range(4)]
    assert len(set(wallets)) == 4
    results: list[dict[str, Any]] = []

    async with AsyncExitStack() as exits:
        clients = [await exits.enter_async_context(Client(clocked_stack.server)) for _ in wallets]

        async def fund(client: Client, wallet_id: str) -> None:
            arguments = {"wallet_id": wallet_id, "payment_id": payment["id"], "amount": "40.00"}
            result = await client.call_tool("fund_wallet", {**arguments, "idempotency_key": f"fund-{wallet_id}"})
            results.append(body_of(result))

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for client, wallet_id in zip(clients, wallets, strict=True):
                    tg.start_soon(fund, client, wallet_id)

    assert sorted(r.get("code", "ok") for r in results) == [
        "ok",
        "ok",
        "payment_not_allocatable",
        "payment_not_allocatable",
    ]
    balances = [(await agent.ok("get_wallet", wallet_id=w))["posted"]["amount_minor"] for w in wallets]
    assert sorted(balances) == [0, 0, 4000, 4000]
