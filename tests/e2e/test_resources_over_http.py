"""Resources and subscriptions over real streamable HTTP with real API keys: each reader is the principal of its
bearer token, and sees what that principal's role lets it see; no token, no read."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client import Client

from tests.e2e.processes import create_key, network_server, with_token
from tests.helpers import ok
from tests.views.following import MODERN, following, next_uri

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
QUEUE = "payments://approvals/pending"


async def read(client: Client, uri: str) -> dict[str, Any]:
    [content] = (await client.read_resource(uri)).contents
    return dict(json.loads(content.text))  # type: ignore[union-attr]


async def test_each_bearer_sees_the_approval_queue_its_role_allows(db_url: str, tmp_path: Path) -> None:
    keys = {
        role: (await create_key(db_url, tmp_path, role))["key"] for role in ("viewer", "agent", "operator", "admin")
    }
    async with network_server("http", db_url, tmp_path) as base:
        with anyio.fail_after(120):
            async with with_token("http", base, keys["admin"]) as transport, Client(transport) as admin:
                await ok(admin, "set_spending_policy", currency="USD", principal="key:agent-bot", approval_above="5.00")
            async with with_token("http", base, keys["agent"]) as transport, Client(transport) as agent:
                source = (await ok(agent, "create_wallet", currency="USD", name="s"))["wallet"]["id"]
                target = (await ok(agent, "create_wallet", currency="USD", name="t"))["wallet"]["id"]
                await ok(agent, "fund_wallet", wallet_id=source, currency="USD", amount="100.00")

                @asynccontextmanager
                async def operator_client(**options: Any) -> AsyncIterator[Client]:
                    async with (
                        with_token("http", base, keys["operator"]) as transport,
                        Client(transport, **options) as c,
                    ):
                        yield c

                async with following(operator_client, [QUEUE], MODERN) as (operator, updates):
                    held = await ok(
                        agent,
                        "transfer_funds",
                        source_wallet_id=source,
                        destination_wallet_id=target,
                        currency="USD",
                        amount="50.00",
                    )
                    assert await next_uri(updates) == QUEUE
                    everyone = await read(operator, QUEUE)
                own = await read(agent, QUEUE)
            async with with_token("http", base, keys["viewer"]) as transport, Client(transport) as viewer:
                seen = await read(viewer, QUEUE)
                wallet = await read(viewer, f"payments://wallets/{source}")
            async with httpx2.AsyncClient() as anonymous:
                refused = await anonymous.post(
                    f"{base}/mcp",
                    json={"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": QUEUE}},
                )

    assert held["status"] == "pending_approval"
    assert [a["id"] for a in everyone["approvals"]] == [held["approval_id"]]
    assert everyone["scope"] == "everyone"
    assert [a["id"] for a in own["approvals"]] == [held["approval_id"]]
    assert own["scope"] == "own"
    assert seen["approvals"] == []
    assert seen["scope"] == "own"
    assert wallet["wallet"]["posted"]["amount"] == "100.00"
    assert refused.status_code == 401
