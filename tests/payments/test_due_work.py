"""Due work on an injected clock: authorizations expire after 7 days, abandoned 3-D Secure after a day."""

import anyio
import pytest
import structlog

from mcp_payments.adapters.providers.sandbox import SandboxProvider
from mcp_payments.bootstrap import sweep_once
from tests.conftest import FakeClock, Stack
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio


def clock_of(stack: Stack) -> FakeClock:
    assert stack.clock is not None
    return stack.clock


async def test_an_uncaptured_authorization_expires_after_seven_days_and_not_a_second_before(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clock_of(clocked_stack)
    payment = await agent.pay("100.00", capture_method="manual")

    clock.advance(days=7, seconds=-1)
    await sweep_once(clocked_stack.services)
    assert (await agent.payment(payment["id"]))["payment"]["status"] == "requires_capture"

    clock.advance(seconds=1)
    assert await sweep_once(clocked_stack.services) == 1
    view = await agent.payment(payment["id"])
    expired = view["payment"]
    assert expired["status"] == "canceled"
    assert expired["cancellation_reason"] == "authorization_expired"
    assert expired["canceled_at"] == "2026-01-08T00:00:00Z"
    assert expired["amount_capturable"]["amount_minor"] == 0
    assert view["attempts"][-1]["action"] == "cancel", "the provider is told to release the authorization"
    assert view["events"][-1]["data"] == {"reason": "authorization_expired"}
    assert view["ledger"] == []
    late = await agent.err("capture_payment", payment_id=payment["id"])
    assert late["code"] == "invalid_state"


async def test_a_payment_left_in_requires_action_is_canceled_after_a_day(agent: Agent, clocked_stack: Stack) -> None:
    clock = clock_of(clocked_stack)
    payment = await agent.pay("30.00", "pm_card_threeDSecureRequired")

    clock.advance(hours=23, minutes=59)
    await sweep_once(clocked_stack.services)
    assert (await agent.payment(payment["id"]))["payment"]["status"] == "requires_action"

    clock.advance(minutes=1)
    await sweep_once(clocked_stack.services)
    expired = (await agent.payment(payment["id"]))["payment"]
    assert expired["status"] == "canceled"
    assert expired["cancellation_reason"] == "action_timeout"
    late = await agent.err("confirm_payment", payment_id=payment["id"])
    assert late["code"] == "invalid_state"


async def test_due_work_leaves_settled_payments_alone_and_handles_each_expiry_once(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clock_of(clocked_stack)
    succeeded = await agent.pay("10.00")
    captured = await agent.pay("20.00", capture_method="manual")
    await agent.ok("capture_payment", payment_id=captured["id"], amount="5.00")
    declined = await agent.err(
        "create_payment", currency="USD", amount="10.00", payment_method="pm_card_chargeDeclined"
    )
    canceled = await agent.pay("30.00", capture_method="manual")
    await agent.ok("cancel_payment", payment_id=canceled["id"])
    expiring = await agent.pay("40.00", capture_method="manual")
    before = {
        p: (await agent.payment(p))["payment"]
        for p in (succeeded["id"], captured["id"], declined["details"]["payment_id"], canceled["id"])
    }

    clock.advance(days=30)
    assert await sweep_once(clocked_stack.services) > 0
    assert await sweep_once(clocked_stack.services) == 0, "nothing is handled twice"

    assert {p: (await agent.payment(p))["payment"] for p in before} == before
    assert (await agent.payment(expiring["id"]))["payment"]["status"] == "canceled"


async def test_a_capture_just_before_the_expiry_wins_over_the_sweep(agent: Agent, clocked_stack: Stack) -> None:
    clock = clock_of(clocked_stack)
    payment = await agent.pay("100.00", capture_method="manual")
    clock.advance(days=6, hours=23)

    await agent.ok("capture_payment", payment_id=payment["id"], amount="70.00")
    clock.advance(days=1)
    await sweep_once(clocked_stack.services)

    settled = (await agent.payment(payment["id"]))["payment"]
    assert (settled["status"], settled["amount_received"]["amount"]) == ("succeeded", "70.00")


async def test_two_workers_sweeping_at_once_expire_each_authorization_once(agent: Agent, clocked_stack: Stack) -> None:
    payments = [(await agent.pay(f"{n}.00", capture_method="manual"))["id"] for n in range(10, 16)]
    clock_of(clocked_stack).advance(days=8)

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(sweep_once, clocked_stack.services)

    for payment_id in payments:
        view = await agent.payment(payment_id)
        assert view["payment"]["status"] == "canceled"
        assert [e["type"] for e in view["events"]].count("payment.canceled") == 1
        assert [a["action"] for a in view["attempts"]] == ["authorize", "cancel"]


async def test_an_expiry_the_provider_does_not_answer_is_retried_after_its_backoff(
    agent: Agent, clocked_stack: Stack
) -> None:
    payment = await agent.pay("100.00", capture_method="manual")
    clock = clock_of(clocked_stack)
    clock.advance(days=7)
    clocked_stack.services.get(SandboxProvider).fail_next()  # the sandbox's test switch

    with structlog.testing.capture_logs() as logs:
        await sweep_once(clocked_stack.services)  # the failing item is logged and held back; the others still ran
    assert {
        "event": "job_item_failed",
        "job": "expire_payments",
        "item": payment["id"],
        "code": "provider_unavailable",
    } in [{k: v for k, v in line.items() if k in {"event", "job", "item", "code"}} for line in logs]
    assert (await agent.payment(payment["id"]))["payment"]["status"] == "requires_capture"
    await sweep_once(clocked_stack.services)
    assert (await agent.payment(payment["id"]))["payment"]["status"] == "requires_capture", "held back until its retry"

    clock.advance(seconds=30)
    await sweep_once(clocked_stack.services)
    view = await agent.payment(payment["id"])
    assert view["payment"]["status"] == "canceled"
    assert [a["action"] for a in view["attempts"]] == ["authorize", "cancel"], "the failed attempt left no trace"
