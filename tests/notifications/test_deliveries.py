"""Deliveries reach a real receiver signed as Standard Webhooks says, from an outbox written with the change."""

from datetime import timedelta

import pytest

from mcp_payments.domain.webhooks import JITTER, SCHEDULE
from tests.conftest import Stack
from tests.notifications.conftest import clock_of, deliver, endpoint, pay, rows
from tests.notifications.receiver import receiving
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio


async def test_events_arrive_signed_and_verify_with_the_standard_webhooks_library(
    clocked_stack: Stack, admin: Agent
) -> None:
    with receiving() as receiver:
        created = await endpoint(admin, receiver.url, "payment.succeeded", "refund.succeeded")
        secret = created["secret"]
        assert secret.startswith("whsec_")
        payment = await pay(admin)
        await admin.ok("refund_payment", payment_id=payment["id"], amount="2.00")
        assert await deliver(clocked_stack) == 2
        got = receiver.all()
    assert [r.event["type"] for r in got] == ["payment.succeeded", "refund.succeeded"]
    assert all(r.verifies(secret) for r in got)
    assert got[0].event["data"]["id"] == payment["id"]
    assert got[0].event["data"]["amount"] == 1200
    assert got[0].event["data"]["currency"] == "USD"
    assert got[1].event["data"]["details"]["amount"] == 200
    assert all(len(r.body) < 20_000 for r in got)
    deliveries = (await admin.ok("list_webhook_deliveries"))["deliveries"]
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in deliveries] == [("delivered", 1, 200)] * 2
    # The secret is kept sealed: no table holds it, and the endpoint's list never shows it.
    stored = await rows(clocked_stack, "webhook_endpoints")
    assert secret not in repr(stored)
    assert "secret" not in (await admin.ok("list_webhook_endpoints"))["endpoints"][0]


async def test_an_event_is_written_only_with_the_change_it_reports(clocked_stack: Stack, admin: Agent) -> None:
    with receiving() as receiver:
        await endpoint(admin, receiver.url, "payment.succeeded", "payment.failed")
        declined = await admin.err(
            "create_payment", amount="5.00", currency="USD", payment_method="pm_card_chargeDeclined"
        )
        assert declined["code"] == "card_declined"
        await admin.err("create_payment", amount="5.00", currency="USD", payment_method="pm_card_bogus")
        assert await deliver(clocked_stack) == 1
        # The declined payment is kept, and so is its event; the refused call wrote nothing, so sent nothing.
        assert [r.event["type"] for r in receiver.all()] == ["payment.failed"]
    assert len(await rows(clocked_stack, "webhook_events")) == 1


async def test_a_receiver_that_is_down_is_retried_on_the_schedule_with_one_webhook_id_until_it_recovers(
    clocked_stack: Stack, admin: Agent
) -> None:
    clock = clock_of(clocked_stack)
    with receiving() as receiver:
        secret = (await endpoint(admin, receiver.url))["secret"]
        receiver.status = 503
        await pay(admin)
        assert await deliver(clocked_stack) == 1  # the first attempt goes at once
        for attempt, wait in enumerate(SCHEDULE[1:6], start=2):
            clock.advance(seconds=wait.total_seconds() * 0.99)
            assert await deliver(clocked_stack) == 0, f"attempt {attempt} came before its {wait}"
            clock.advance(seconds=wait.total_seconds() * (JITTER + 0.02))
            if attempt == 5:
                receiver.status = 200  # back up before the fifth attempt
            assert await deliver(clocked_stack) == 1, f"attempt {attempt} did not come after {wait}"
            if attempt == 5:
                break
        got = receiver.all()
        clock.advance(hours=24)
        assert await deliver(clocked_stack) == 0  # delivered: never sent again
    assert len(got) == 5
    assert len({r.webhook_id for r in got}) == 1
    assert all(r.verifies(secret) for r in got)
    [delivery] = (await admin.ok("list_webhook_deliveries"))["deliveries"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("delivered", 5, 200)
    [ep] = (await admin.ok("list_webhook_endpoints"))["endpoints"]
    assert ep["status"] == "enabled"
    assert ep["failing_since"] is None


async def test_after_the_last_attempt_of_the_schedule_the_delivery_has_failed(
    clocked_stack: Stack, admin: Agent
) -> None:
    clock = clock_of(clocked_stack)
    with receiving() as receiver:
        await endpoint(admin, receiver.url)
        receiver.status = 500
        await pay(admin)
        for wait in SCHEDULE:
            clock.advance(seconds=wait.total_seconds() * (1 + JITTER) + 1)
            assert await deliver(clocked_stack) == 1
        clock.advance(days=2)
        assert await deliver(clocked_stack) == 0
        assert len(receiver.all()) == len(SCHEDULE) == 8
    [delivery] = (await admin.ok("list_webhook_deliveries", status="failed"))["deliveries"]
    assert delivery["attempts"] == 8
    assert delivery["last_error"] == "HTTP 500"
    assert sum(SCHEDULE, timedelta()) < timedelta(days=5)  # the default disable_after is not reached by one event
    [ep] = (await admin.ok("list_webhook_endpoints"))["endpoints"]
    assert ep["status"] == "enabled"
    assert ep["failing_since"] is not None


async def test_a_410_disables_the_endpoint_and_nothing_more_is_sent_to_it(clocked_stack: Stack, admin: Agent) -> None:
    with receiving() as receiver:
        await endpoint(admin, receiver.url)
        receiver.status = 410
        await pay(admin)
        assert await deliver(clocked_stack) == 1
        await pay(admin, "13.00")
        clock_of(clocked_stack).advance(days=1)
        assert await deliver(clocked_stack) == 0
        assert len(receiver.all()) == 1
    [ep] = (await admin.ok("list_webhook_endpoints"))["endpoints"]
    assert (ep["status"], ep["disabled_reason"]) == ("disabled", "the receiver answered 410 Gone")
    [delivery] = (await admin.ok("list_webhook_deliveries"))["deliveries"]
    assert (delivery["status"], delivery["last_status_code"]) == ("failed", 410)
    refused = await admin.err("replay_webhook", delivery_id=delivery["id"])
    assert refused["code"] == "invalid_state"
