"""Retry safety of payments: a retry with the same key, a blind retry without one, concurrent duplicates."""

from contextlib import AsyncExitStack
from typing import Any

import anyio
import pytest
from mcp.client import Client

from mcp_payments.adapters.providers.sandbox import SandboxProvider
from tests.conftest import Stack
from tests.payments.agent import Agent, body_of
from tests.payments.card_scan import dump_database
from tests.payments.conftest import engine

pytestmark = pytest.mark.anyio

CARD = {"card_number": "4242 4242 4242 4242", "card_exp_month": 12, "card_exp_year": 2030, "card_cvc": "123"}


async def payments_made(agent: Agent) -> list[dict[str, Any]]:
    return list((await agent.ok("list_payments", limit=100))["payments"])


async def test_a_retry_with_the_same_idempotency_key_charges_once(agent: Agent) -> None:
    arguments = {"currency": "USD", "amount": "20.00", "idempotency_key": "order-1001-charge", **CARD}
    first = await agent.ok("create_payment", **arguments)

    again = await agent.ok("create_payment", **arguments)

    assert (first["deduplicated"], again["deduplicated"]) == (False, True)
    assert again["payment"] == first["payment"]
    [payment] = await payments_made(agent)
    assert payment["id"] == first["payment"]["id"]
    view = await agent.payment(payment["id"])
    assert [t["kind"] for t in view["ledger"]] == ["payment_capture"]
    assert len(view["attempts"]) == 1, "the provider was asked once"
    chain = await agent.ok("verify_audit_chain")
    assert (chain["valid"], chain["records_checked"] + chain["unsealed_records"]) == (True, 1), "one record"


async def test_the_same_key_with_another_amount_is_a_conflict_naming_the_amount(
    agent: Agent, clocked_stack: Stack
) -> None:
    await agent.ok("create_payment", currency="USD", amount="20.00", idempotency_key="order-1002-charge", **CARD)
    before = await dump_database(engine(clocked_stack))

    conflict = await agent.err(
        "create_payment", currency="USD", amount="21.00", idempotency_key="order-1002-charge", **CARD
    )

    assert conflict["code"] == "idempotency_conflict"
    assert conflict["details"]["differing_fields"] == ["amount"]
    assert await dump_database(engine(clocked_stack)) == before


async def test_the_same_key_with_another_card_is_a_conflict_naming_the_card_but_not_showing_it(agent: Agent) -> None:
    await agent.ok("create_payment", currency="USD", amount="20.00", idempotency_key="order-1003-charge", **CARD)

    other = {**CARD, "card_number": "5555 5555 5555 4444"}
    conflict = await agent.err(
        "create_payment", currency="USD", amount="20.00", idempotency_key="order-1003-charge", **other
    )

    assert conflict["code"] == "idempotency_conflict"
    assert conflict["details"]["differing_fields"] == ["card_number"]
    assert len(await payments_made(agent)) == 1


async def test_a_blind_retry_without_a_key_is_deduplicated_within_the_window(
    agent: Agent, clocked_stack: Stack
) -> None:
    assert clocked_stack.clock is not None
    first = await agent.ok("create_payment", currency="USD", amount="20.00", **CARD)
    clocked_stack.clock.advance(seconds=59)

    retry = await agent.ok("create_payment", currency="USD", amount="20.00", **CARD)

    assert retry["deduplicated"] is True
    assert retry["payment"]["id"] == first["payment"]["id"]
    assert len(await payments_made(agent)) == 1
    clocked_stack.clock.advance(seconds=2)
    later = await agent.ok("create_payment", currency="USD", amount="20.00", **CARD)
    assert later["deduplicated"] is False, "outside the window the same request is a new payment"
    assert len(await payments_made(agent)) == 2


async def test_a_blind_retry_of_a_decline_returns_the_same_decline_without_asking_the_provider_again(
    agent: Agent,
) -> None:
    arguments = {"currency": "USD", "amount": "20.00", "payment_method": "pm_card_chargeDeclinedInsufficientFunds"}
    first = await agent.err("create_payment", **arguments)

    again = await agent.err("create_payment", **arguments)

    assert again == first
    [payment] = await payments_made(agent)
    assert len((await agent.payment(payment["id"]))["attempts"]) == 1


async def test_a_payment_the_provider_did_not_answer_leaves_nothing_and_its_retry_charges_once(
    agent: Agent, clocked_stack: Stack
) -> None:
    before = await dump_database(engine(clocked_stack))
    clocked_stack.services.get(SandboxProvider).fail_next()  # the sandbox's test switch
    arguments = {"currency": "USD", "amount": "20.00", "idempotency_key": "order-1004-charge", **CARD}

    failed = await agent.err("create_payment", **arguments)

    assert (failed["code"], failed["retryable"]) == ("provider_unavailable", True)
    assert await dump_database(engine(clocked_stack)) == before
    retried = await agent.ok("create_payment", **arguments)
    assert retried["deduplicated"] is False
    replayed = await agent.ok("create_payment", **arguments)
    assert replayed["deduplicated"] is True
    assert len(await payments_made(agent)) == 1


async def test_a_refund_retried_with_its_key_refunds_once(agent: Agent) -> None:
    payment = await agent.pay("100.00")
    arguments = {"payment_id": payment["id"], "amount": "10.00", "idempotency_key": "refund-1005-a"}
    first = await agent.ok("refund_payment", **arguments)

    again = await agent.ok("refund_payment", **arguments)

    assert again["refund"]["id"] == first["refund"]["id"]
    assert again["deduplicated"] is True
    view = await agent.payment(payment["id"])
    assert view["payment"]["amount_refunded"]["amount"] == "10.00"
    assert len(view["refunds"]) == 1


async def create_concurrently(stack: Stack, calls: int, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    stack.services.get(SandboxProvider).latency = 0.02  # overlap the calls
    results: list[dict[str, Any]] = []
    async with AsyncExitStack() as exits:
        clients = [await exits.enter_async_context(Client(stack.server)) for _ in range(calls)]

        async def create(client: Client) -> None:
            result = await client.call_tool("create_payment", arguments)
            assert not result.is_error, result.content
            results.append(body_of(result))

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for client in clients:
                    tg.start_soon(create, client)
    return results


@pytest.mark.parametrize("key", ["order-1006-charge", None], ids=["same-key", "no-key"])
async def test_concurrent_duplicates_charge_once(agent: Agent, clocked_stack: Stack, key: str | None) -> None:
    arguments = {"currency": "USD", "amount": "20.00", "payment_method": "pm_card_visa"}
    if key is not None:
        arguments["idempotency_key"] = key

    results = await create_concurrently(clocked_stack, 5, arguments)

    assert len({r["payment"]["id"] for r in results}) == 1
    assert sorted(r["deduplicated"] for r in results) == [False, True, True, True, True]
    [payment] = await payments_made(agent)
    assert [t["kind"] for t in (await agent.payment(payment["id"]))["ledger"]] == ["payment_capture"]


async def test_a_retryable_decline_is_replayed_for_its_key_and_a_new_key_tries_the_card_again(agent: Agent) -> None:
    arguments = {"currency": "USD", "amount": "20.00", "payment_method": "pm_card_chargeDeclinedProcessingError"}
    first = await agent.err("create_payment", idempotency_key="order-1007-try-1", **arguments)

    replayed = await agent.err("create_payment", idempotency_key="order-1007-try-1", **arguments)
    fresh = await agent.err("create_payment", idempotency_key="order-1007-try-2", **arguments)

    assert (first["code"], first["retryable"]) == ("card_declined", True)
    assert "new idempotency_key" in first["message"], "the advice must say how a retry can reach the provider"
    assert replayed == first
    assert fresh["details"]["payment_id"] != first["details"]["payment_id"]
    assert len(await payments_made(agent)) == 2
