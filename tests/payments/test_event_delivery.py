"""Due work delivering the sandbox's queued events: a delivery that fails part-way loses nothing, and the
due-work loop outlives a pass that crashes."""

import json
from collections.abc import MutableMapping
from typing import Any

import anyio
import pytest
import structlog
from sqlalchemy import text

from mcp_payments import bootstrap
from mcp_payments.adapters.providers.sandbox import SandboxProvider
from mcp_payments.bootstrap import sweep_once
from mcp_payments.services.container import Services
from mcp_payments.services.events import EventService
from mcp_payments.services.ports import UnitOfWork
from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.payments.conftest import engine

pytestmark = pytest.mark.anyio


class DeliveryInterrupted(Exception):
    """Stands for whatever may break in the middle of a delivery (a lost connection, a bug)."""


async def provider_events(stack: Stack) -> dict[str, tuple[str, int]]:
    async with engine(stack).connect() as conn:
        rows = await conn.execute(text("SELECT id, status, attempts FROM provider_events"))
        return {r.id: (r.status, r.attempts) for r in rows}


def event_ids(bodies: list[bytes]) -> list[str]:
    return [json.loads(body)["id"] for body in bodies]


async def disputed_payments(agent: Agent, stack: Stack, count: int) -> tuple[list[str], list[bytes]]:
    """`count` payments on the dispute card, and the dispute events the sandbox queued for them, in order."""
    payments = [(await agent.pay(f"{10 + n}.00", "pm_card_createDispute"))["id"] for n in range(count)]
    queued = list(stack.services.get(SandboxProvider).outbox)  # the sandbox's queue
    assert [json.loads(body)["data"]["payment_id"] for body in queued] == payments
    return payments, queued


def fail_delivery(services: Services, monkeypatch: pytest.MonkeyPatch, failing_call: int) -> list[str]:
    """Make the `failing_call`-th delivery (counting from 1) fail once, after it has written its changes,
    so that they must be rolled back. Returns the ids of the events handed to receive, in order."""
    receive = services.get(EventService).receive
    seen: list[str] = []

    async def flaky_receive(uow: UnitOfWork, event: dict[str, Any]) -> str:
        seen.append(event["id"])
        status = await receive(uow, event)
        if len(seen) == failing_call:
            raise DeliveryInterrupted(f"delivery {failing_call} broke after it wrote")
        return status

    monkeypatch.setattr(services.get(EventService), "receive", flaky_receive)
    return seen


async def sweep_with_a_broken_delivery(services: Services) -> None:
    """A pass of due work in which delivery breaks: the delivery job is logged as crashed, the pass goes on."""
    with structlog.testing.capture_logs() as logged:
        await sweep_once(services)
    crashed = [(line["job"], line["log_level"]) for line in logged if line["event"] == "job_crashed"]
    assert crashed == [("deliver_provider_events", "error")]


async def test_events_not_delivered_when_a_delivery_fails_go_back_to_the_queue_and_the_next_sweep_delivers_them(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = clocked_stack.services
    payments, queued = await disputed_payments(agent, clocked_stack, 3)
    seen = fail_delivery(services, monkeypatch, failing_call=2)

    await sweep_with_a_broken_delivery(services)

    assert seen == event_ids(queued[:2]), "delivery stopped at the failing event"
    assert services.get(SandboxProvider).outbox == queued[1:], (
        "the failed event and the ones after it are back, in order"
    )
    assert await provider_events(clocked_stack) == {event_ids(queued)[0]: ("processed", 1)}
    assert [(await agent.payment(p))["payment"]["disputed"] for p in payments] == [True, False, False]
    await agent.ledger_ok()

    assert await sweep_once(services) == 2

    assert seen == event_ids(queued[:2]) + event_ids(queued[1:])
    assert services.get(SandboxProvider).outbox == []
    assert await provider_events(clocked_stack) == {event: ("processed", 1) for event in event_ids(queued)}
    for payment_id in payments:
        view = await agent.payment(payment_id)
        assert view["payment"]["disputed"] is True
        assert [t["kind"] for t in view["ledger"]] == ["payment_capture", "dispute"], "each dispute posted once"
    assert await sweep_once(services) == 0, "nothing is left over and nothing is delivered twice"


async def test_a_failure_on_the_first_event_puts_the_whole_queue_back(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = clocked_stack.services
    payments, queued = await disputed_payments(agent, clocked_stack, 2)
    fail_delivery(services, monkeypatch, failing_call=1)

    await sweep_with_a_broken_delivery(services)

    assert services.get(SandboxProvider).outbox == queued
    assert await provider_events(clocked_stack) == {}
    assert await sweep_once(services) == 2
    assert [(await agent.payment(p))["payment"]["disputed"] for p in payments] == [True, True]


async def test_events_queued_while_a_delivery_was_failing_are_delivered_after_the_ones_put_back(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = clocked_stack.services
    _, queued = await disputed_payments(agent, clocked_stack, 2)
    seen = fail_delivery(services, monkeypatch, failing_call=1)
    await sweep_with_a_broken_delivery(services)

    later = await agent.pay("99.00", "pm_card_createDispute")
    outbox = list(services.get(SandboxProvider).outbox)
    assert outbox[:2] == queued, "the events put back keep their place at the front"
    assert await sweep_once(services) == 3

    assert seen == [*event_ids(queued[:1]), *event_ids(outbox)], "delivered in order after the failed attempt"
    assert (await agent.payment(later["id"]))["payment"]["disputed"] is True
    assert len(await provider_events(clocked_stack)) == 3


async def test_the_due_work_loop_survives_a_pass_that_crashes_and_runs_again(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch, logs: list[MutableMapping[str, Any]]
) -> None:
    payment = await agent.pay("20.00", "pm_card_createDispute")
    passes: list[int] = []

    with anyio.fail_after(30), anyio.CancelScope() as loop:

        async def crashing_then_real_sweep(services: Services) -> int:
            passes.append(len(passes) + 1)
            if len(passes) == 1:
                raise RuntimeError("a bug in due work")
            handled = await sweep_once(services)
            loop.cancel()  # two passes are all this test needs
            return handled

        monkeypatch.setattr(bootstrap, "sweep_once", crashing_then_real_sweep)
        await bootstrap.run_due_work(clocked_stack.services, interval=0.001)

    assert passes == [1, 2], "the loop ran again after the crash"
    [crash] = [entry for entry in logs if entry["event"] == "due_work_crashed"]
    assert crash["log_level"] == "error"
    assert crash["exc_info"] is True
    assert (await agent.payment(payment["id"]))["payment"]["disputed"] is True, "the second pass did the work"
