"""The sandbox's events live in the database (its outbox), not in process memory: written with the change that
caused them, kept across a restart, and delivered once however many workers deliver at once."""

from typing import Any

import anyio
import pytest
from mcp.client import Client
from sqlalchemy import text

from mcp_payments.bootstrap import application, sweep_once
from mcp_payments.config import Settings
from mcp_payments.services.payments.lifecycle import PaymentService
from mcp_payments.services.ports import UnitOfWork
from tests.conftest import Stack
from tests.helpers import ok
from tests.payments.agent import Agent, body_of
from tests.payments.conftest import engine
from tests.payments.outbox import payment_of, queued, queued_ids
from tests.payments.signed_events import SECRET_KEY, WEBHOOK_SECRET

pytestmark = pytest.mark.anyio


async def test_events_queued_before_a_restart_are_delivered_by_the_next_process(db_url: str) -> None:
    settings = Settings(db_url=db_url, secret_key=SECRET_KEY, webhook_secrets=(WEBHOOK_SECRET,))
    async with application(settings) as (server, _, _services), Client(server) as client:
        disputed = [
            (
                await ok(
                    client, "create_payment", currency="USD", amount=f"{n}.00", payment_method="pm_card_createDispute"
                )
            )["payment"]["id"]
            for n in (10, 20)
        ]
        refunded = (
            await ok(client, "create_payment", currency="USD", amount="30.00", payment_method="pm_card_refundFail")
        )["payment"]["id"]
        await ok(client, "refund_payment", payment_id=refunded)
    # That process is gone, its memory with it.

    async with application(settings) as (server, _, services), Client(server) as client:
        assert await sweep_once(services) == 3

        for payment_id in disputed:
            view = await ok(client, "get_payment", payment_id=payment_id)
            assert view["payment"]["disputed"] is True
            assert [t["kind"] for t in view["ledger"]] == ["payment_capture", "dispute"]
        view = await ok(client, "get_payment", payment_id=refunded)
        assert [r["status"] for r in view["refunds"]] == ["failed"]
        assert [t["kind"] for t in view["ledger"]] == ["payment_capture", "refund", "refund_reversal"]
        assert (await ok(client, "check_ledger_integrity"))["ok"]
        assert await sweep_once(services) == 0


async def test_a_payment_whose_transaction_rolls_back_queues_no_event(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = clocked_stack.services.get(PaymentService)

    async def broken_posting(_uow: UnitOfWork, _payment: Any) -> None:
        raise RuntimeError("the capture posting broke after the provider queued its dispute")

    monkeypatch.setattr(service, "_post_capture", broken_posting)
    refused = await agent.err("create_payment", currency="USD", amount="10.00", payment_method="pm_card_createDispute")
    monkeypatch.undo()

    assert refused["code"] == "internal_error"
    assert await queued(clocked_stack) == []
    assert (await agent.ok("list_payments"))["payments"] == []
    kept = await agent.pay("10.00", "pm_card_createDispute")
    assert [payment_of(event) for event in await queued(clocked_stack)] == [kept["id"]]


async def test_workers_delivering_at_once_deliver_each_event_once(agent: Agent, clocked_stack: Stack) -> None:
    payments = [(await agent.pay(f"{n}.00", "pm_card_createDispute"))["id"] for n in range(10, 18)]
    done: list[int] = []

    async def worker() -> None:
        done.append(await sweep_once(clocked_stack.services))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(worker)

    assert sum(done) == len(payments)
    assert await queued_ids(clocked_stack) == []
    for payment_id in payments:
        view = await agent.payment(payment_id)
        assert [t["kind"] for t in view["ledger"]] == ["payment_capture", "dispute"]
        assert [e["type"] for e in view["events"]].count("payment.disputed") == 1
    result = await agent.client.call_tool("get_audit_log", {"tool": "provider_event", "limit": 100})
    audited = body_of(result)
    assert sorted(i for r in audited["records"] for i in r["entity_ids"]) == sorted(await delivered_ids(clocked_stack))
    assert len(audited["records"]) == len(payments), "one audit record per delivery"


async def delivered_ids(stack: Stack) -> list[str]:
    async with engine(stack).connect() as conn:
        return list((await conn.execute(text("SELECT id FROM provider_events"))).scalars())
