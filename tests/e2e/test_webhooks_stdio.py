"""A real stdio server, with an admin key, delivers a webhook from its own due work to a receiver that verifies it
with the standardwebhooks package."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from tests.e2e.processes import create_key, isolated_env, serve_args
from tests.helpers import ok
from tests.notifications.receiver import receiving

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_a_served_endpoint_receives_a_signed_delivery_from_the_servers_own_due_work(
    db_url: str, tmp_path: Path
) -> None:
    key = await create_key(db_url, tmp_path, "admin", "ops")
    env = {
        **isolated_env(tmp_path),
        "MCP_PAYMENTS_API_KEY": key["key"],
        "MCP_PAYMENTS_WEBHOOKS_ALLOW_LOOPBACK": "1",
        "MCP_PAYMENTS_JOB_INTERVAL_SECONDS": "0.2",
    }
    params = StdioServerParameters(command=sys.executable, args=serve_args(db_url), env=env)
    with receiving() as receiver, anyio.fail_after(120):
        async with Client(params) as client:
            created = await ok(client, "create_webhook_endpoint", url=receiver.url, event_types=["payment.succeeded"])
            paid = await ok(client, "create_payment", amount="21.00", currency="USD", payment_method="pm_card_visa")
            # The server's own pass of due work sends it (a thread waits: the receiver is one).
            assert await anyio.to_thread.run_sync(receiver.arrived.wait, 100)
            [delivery] = (await ok(client, "list_webhook_deliveries"))["deliveries"]
        [got] = receiver.all()
    assert got.verifies(created["secret"])
    assert got.event["data"]["id"] == paid["payment"]["id"]
    assert got.webhook_id == delivery["webhook_id"]
