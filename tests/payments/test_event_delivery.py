"""Due work delivering the sandbox's queued events: a delivery that fails part-way loses nothing and holds back
only its own event, events go in the order they were queued, and the due-work loop outlives a pass that
crashes."""

from collections.abc import MutableMapping
from typing import Any

import anyio
import pytest
import structlog
from sqlalchemy import text

from mcp_payments.bootstrap import sweep_once
from mcp_payments.services.container import Services
from mcp_payments.services.events import EventService
from mcp_payments.services.job_runner import JobRunner, PassResult
from mcp_payments.services.ports import UnitOfWork
from tests.conftest import FakeClock, Stack
from tests.payments.agent import Agent
from tests.payments.conftest import engine
from tests.payments.outbox import payment_of, queued, queued_ids

pytestmark = pytest.mark.anyio


class DeliveryInterrupted(Exception):
    """Stands for whatever may break in the middle of a delivery (a lost connection, a bug)."""


async def provider_events(stack: Stack) -> dict[str, tuple[str, int]]:
    async with engine(stack).connect() as conn:
        rows = await conn.execute(text("SELECT id, status, attempts FROM provider_events"))
        return {r.id: (r.status, r.attempts) for r in rows}


async def disputed_payments(agent: Agent, stack: Stack, count: int) -> tuple[list[str], list[str]]:
    """`count` payments on the dispute card, and the ids of the dispute events the sandbox queued, in order."""
    payments = [(await agent.pay(f"{10 + n}.00", "pm_card_createDispute"))["id"] for n in range(count)]
    events = await queued(stack)
    assert [payment_of(event) for event in events] == payments
    return payments, [event.id for event in events]


def fail_delivery(services: Services, monkeypatch: pytest.MonkeyPatch, failing: str) -> list[str]:
    """Make every delivery of event `failing` fail after it has written its changes, so that they must be rolled
    back. Returns the ids of the events handed to receive, in order."""
    receive = services.get(EventService).receive
    seen: list[str] = []

    async def flaky_receive(uow: UnitOfWork, event: dict[str, Any]) -> str:
        seen.append(event["id"])
        status = await receive(uow, event)
        if event["id"] == failing:
            raise DeliveryInterrupted(f"delivery of {failing} broke after it wrote")
        return status

    monkeypatch.setattr(services.get(EventService), "receive", flaky_receive)
    return seen


def clock_of(stack: Stack) -> FakeClock:
    assert stack.clock is not None
    return stack.clock


async def test_a_delivery_that_fails_after_it_wrote_is_rolled_back_kept_and_delivered_after_its_backoff(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = clocked_stack.services
    payments, events = await disputed_payments(agent, clocked_stack, 3)
    seen = fail_delivery(services, monkeypatch, failing=events[1])

    with structlog.testing.capture_logs() as logged:
        assert await sweep_once(services) == 2, "the events before and after the failing one are delivered"
    crashed = [(line["job"], line["item"], line["log_level"]) for line in logged if line["event"] == "job_item_crashed"]
    assert crashed == [("deliver_provider_events", events[1], "error")]

    assert seen == events, "delivery went on past the failing event"
    assert await queued_ids(clocked_stack) == [events[1]], "the failed event is still queued"
    assert await provider_events(clocked_stack) == {events[0]: ("processed", 1), events[2]: ("processed", 1)}
    assert [(await agent.payment(p))["payment"]["disputed"] for p in payments] == [True, False, True]
    await agent.ledger_ok()

    assert await sweep_once(services) == 0, "held back until its retry"
    monkeypatch.undo()
    clock_of(clocked_stack).advance(seconds=30)
    assert await sweep_once(services) == 1

    assert await queued_ids(clocked_stack) == []
    assert await provider_events(clocked_stack) == {event: ("processed", 1) for event in events}
    for payment_id in payments:
        view = await agent.payment(payment_id)
        assert view["payment"]["disputed"] is True
        assert [t["kind"] for t in view["ledger"]] == ["payment_capture", "dispute"], "each dispute posted once"
    assert await sweep_once(services) == 0, "nothing is left over and nothing is delivered twice"


async def test_a_failure_on_the_first_event_does_not_hold_back_the_ones_queued_after_it(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = clocked_stack.services
    payments, events = await disputed_payments(agent, clocked_stack, 2)
    fail_delivery(services, monkeypatch, failing=events[0])

    assert await sweep_once(services) == 1

    assert await queued_ids(clocked_stack) == events[:1]
    assert list(await provider_events(clocked_stack)) == events[1:]
    assert [(await agent.payment(p))["payment"]["disputed"] for p in payments] == [False, True]


async def test_events_are_delivered_in_the_order_they_were_queued_across_passes(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = clocked_stack.services
    _, first = await disputed_payments(agent, clocked_stack, 2)
    seen = fail_delivery(services, monkeypatch, failing="evt_none")  # records the order, fails nothing
    assert await sweep_once(services) == 2

    later = await agent.pay("99.00", "pm_card_createDispute")
    refunded = await agent.pay("40.00", "pm_card_refundFail")
    await agent.ok("refund_payment", payment_id=refunded["id"], amount="15.00")
    second = await queued_ids(clocked_stack)
    assert len(second) == 2
    assert await sweep_once(services) == 2

    assert seen == [*first, *second]
    assert (await agent.payment(later["id"]))["payment"]["disputed"] is True
    assert [r["status"] for r in (await agent.payment(refunded["id"]))["refunds"]] == ["failed"]
    assert len(await provider_events(clocked_stack)) == 4


async def test_the_due_work_loop_survives_a_pass_that_crashes_and_runs_again(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch, logs: list[MutableMapping[str, Any]]
) -> None:
    from mcp_payments import bootstrap

    payment = await agent.pay("20.00", "pm_card_createDispute")
    runner = clocked_stack.services.get(JobRunner)
    real_pass = runner.run_pass
    passes: list[int] = []

    with anyio.fail_after(30), anyio.CancelScope() as loop:

        async def crashing_then_real_pass() -> PassResult:
            passes.append(len(passes) + 1)
            if len(passes) == 1:
                raise RuntimeError("a bug in due work")
            result = await real_pass()
            loop.cancel()  # two passes are all this test needs
            return result

        monkeypatch.setattr(runner, "run_pass", crashing_then_real_pass)
        await bootstrap.run_due_work(clocked_stack.services, interval=0.001)

    assert passes == [1, 2], "the loop ran again after the crash"
    [crash] = [entry for entry in logs if entry["event"] == "due_work_crashed"]
    assert crash["log_level"] == "error"
    assert crash["exc_info"] is True
    assert (await agent.payment(payment["id"]))["payment"]["disputed"] is True, "the second pass did the work"
