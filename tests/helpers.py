"""Small helpers for calling tools through a real MCP client."""

from __future__ import annotations

import json
import uuid
from typing import Any

from mcp.client import Client

from mcp_payments.services import sealing
from mcp_payments.services.container import Services
from mcp_payments.services.job_runner import JobRunner


async def ok(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, f"{tool} failed: {result.content}"
    assert result.structured_content is not None
    return dict(result.structured_content)


async def err(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} unexpectedly succeeded: {result.structured_content}"
    text = result.content[0].text  # type: ignore[union-attr]
    body = json.loads(text)
    assert set(body) == {"code", "message", "retryable", "details"}, body
    return dict(body)


async def funded_wallet(client: Client, amount: str = "100.00", currency: str = "USD") -> str:
    wallet = (await ok(client, "create_wallet", currency=currency, name=f"w-{uuid.uuid4().hex[:8]}"))["wallet"]["id"]
    if amount != "0":
        await ok(
            client,
            "fund_wallet",
            wallet_id=wallet,
            currency=currency,
            amount=amount,
            idempotency_key=f"fund-{wallet}",
        )
    return str(wallet)


async def seal(services: Services) -> None:
    """Link every committed audit record into the chain now, as the sealer job does within a second in serve."""
    await services.get(JobRunner).run(sealing.JOB)
