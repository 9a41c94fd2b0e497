"""Endpoints: the secret shown once, rotation with a grace period, deletion, and disabling after days of failures."""

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Stack
from tests.notifications.conftest import clock_of, deliver, endpoint, pay, rows
from tests.notifications.conftest import settings_overrides as _base_settings
from tests.notifications.receiver import receiving
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {**_base_settings.__wrapped__(), "webhooks_disable_after": timedelta(hours=20)}  # type: ignore[attr-defined]


async def test_the_secret_is_shown_once_and_a_replay_of_the_call_does_not_show_it_again(admin: Agent) -> None:
    arguments = {"url": "https://hooks.example.com/in?token=abc", "event_types": ["payment.succeeded"]}
    first = await admin.ok("create_webhook_endpoint", **arguments, idempotency_key="endpoint-1")
    again = await admin.ok("create_webhook_endpoint", **arguments, idempotency_key="endpoint-1")
    assert first["secret"].startswith("whsec_")
    assert again["deduplicated"] is True
    assert again["secret"] is None
    assert again["endpoint"]["id"] == first["endpoint"]["id"]
    # The query string, where receivers keep tokens, is not shown back.
    assert first["endpoint"]["url"] == "https://hooks.example.com/in?[hidden]"


async def test_after_a_rotation_both_secrets_sign_until_the_grace_period_ends(
    clocked_stack: Stack, admin: Agent
) -> None:
    clock = clock_of(clocked_stack)
    with receiving() as receiver:
        created = await endpoint(admin, receiver.url)
        old = created["secret"]
        rotated = await admin.ok("rotate_webhook_secret", endpoint_id=created["endpoint"]["id"], grace_hours=2)
        new = rotated["secret"]
        assert new != old
        assert rotated["endpoint"]["previous_secret_until"] is not None
        await pay(admin)
        await deliver(clocked_stack)
        clock.advance(hours=3)
        await pay(admin, "13.00")
        await deliver(clocked_stack)
        during, after = receiver.all()
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert during.verifies(old)
    assert during.verifies(new)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert not after.verifies(old)
    assert after.verifies(new)


async def test_a_deleted_endpoint_gets_nothing_and_its_pending_deliveries_are_canceled(
    clocked_stack: Stack, admin: Agent
) -> None:
    with receiving() as receiver:
        created = await endpoint(admin, receiver.url)
        await pay(admin)
        deleted = await admin.ok("delete_webhook_endpoint", endpoint_id=created["endpoint"]["id"])
        assert deleted["canceled_deliveries"] == 1
        await pay(admin, "14.00")
        assert await deliver(clocked_stack) == 0
        assert receiver.all() == []
    assert (await admin.ok("list_webhook_endpoints"))["endpoints"] == []
    again = await admin.err(
        "delete_webhook_endpoint", endpoint_id=created["endpoint"]["id"], idempotency_key="delete-again"
    )
    assert again["code"] == "webhook_endpoint_not_found"
    assert [d["status"] for d in (await admin.ok("list_webhook_deliveries"))["deliveries"]] == ["canceled"]


async def test_an_endpoint_failing_every_delivery_for_the_set_time_is_disabled(
    clocked_stack: Stack, admin: Agent
) -> None:
    clock = clock_of(clocked_stack)
    with receiving() as receiver:
        await endpoint(admin, receiver.url)
        receiver.status = 500
        await pay(admin)
        for _ in range(8):
            clock.advance(hours=11)
            await deliver(clocked_stack)
    [ep] = (await admin.ok("list_webhook_endpoints"))["endpoints"]
    assert ep["status"] == "disabled"
    assert ep["disabled_reason"] == "every delivery failed for 20 hours"


async def test_replay_sends_the_same_event_again_with_the_same_webhook_id(clocked_stack: Stack, admin: Agent) -> None:
    with receiving() as receiver:
        await endpoint(admin, receiver.url)
        await pay(admin)
        await deliver(clocked_stack)
        [first] = (await admin.ok("list_webhook_deliveries"))["deliveries"]
        replayed = (await admin.ok("replay_webhook", delivery_id=first["id"]))["delivery"]
        assert replayed["id"] != first["id"]
        assert replayed["webhook_id"] == first["webhook_id"]
        assert await deliver(clocked_stack) == 1
        one, two = receiver.all()
    assert one.webhook_id == two.webhook_id
    assert one.body == two.body
    assert len(await rows(clocked_stack, "webhook_events")) == 1
