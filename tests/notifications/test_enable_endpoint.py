"""enable_webhook_endpoint: an endpoint disabled by a 410 (or days of failures) is turned back on by an admin."""

import pytest

from tests.conftest import Stack
from tests.notifications.conftest import deliver, endpoint, pay
from tests.notifications.receiver import receiving
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio


async def test_a_disabled_endpoint_enabled_again_receives_new_events_and_replays(
    clocked_stack: Stack, admin: Agent
) -> None:
    with receiving() as receiver:
        created = await endpoint(admin, receiver.url)
        endpoint_id = created["endpoint"]["id"]
        receiver.status = 410
        await pay(admin)
        assert await deliver(clocked_stack) == 1
        [failed] = (await admin.ok("list_webhook_deliveries"))["deliveries"]

        enabled = await admin.ok("enable_webhook_endpoint", endpoint_id=endpoint_id)

        assert enabled["was_disabled"] is True
        assert (enabled["endpoint"]["status"], enabled["endpoint"]["disabled_reason"]) == ("enabled", None)
        assert enabled["endpoint"]["failing_since"] is None
        receiver.status = 200
        await pay(admin, "13.00")
        await admin.ok("replay_webhook", delivery_id=failed["id"])
        assert await deliver(clocked_stack) == 2
        got = receiver.all()
    assert [r.event["data"]["amount"] for r in got] == [1200, 1300, 1200]
    assert all(r.verifies(created["secret"]) for r in got)


async def test_enabling_an_enabled_endpoint_changes_nothing(admin: Agent) -> None:
    created = await endpoint(admin, "https://hooks.example.com/in")

    again = await admin.ok("enable_webhook_endpoint", endpoint_id=created["endpoint"]["id"])

    assert again["was_disabled"] is False
    assert again["endpoint"] == created["endpoint"]


async def test_a_deleted_endpoint_cannot_be_enabled(admin: Agent) -> None:
    created = await endpoint(admin, "https://hooks.example.com/in")
    await admin.ok("delete_webhook_endpoint", endpoint_id=created["endpoint"]["id"])

    error = await admin.err("enable_webhook_endpoint", endpoint_id=created["endpoint"]["id"])

    assert error["code"] == "webhook_endpoint_not_found"
