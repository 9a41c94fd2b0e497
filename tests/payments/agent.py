"""The test's MCP client: calls tools like an agent and keeps every output for the card-number scan."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mcp.client import Client
from mcp.types import CallToolResult


def body_of(result: CallToolResult) -> dict[str, Any]:
    """A success's structured content, or an error's JSON body (errors carry it as text only)."""
    if result.is_error:
        return dict(json.loads(result.content[0].text))  # type: ignore[union-attr]
    return dict(result.structured_content or {})


@dataclass
class Agent:
    client: Client
    outputs: list[str] = field(default_factory=list)

    async def call(self, tool: str, **arguments: Any) -> CallToolResult:
        result = await self.client.call_tool(tool, arguments)
        self.outputs.append(result.model_dump_json())
        return result

    async def ok(self, tool: str, **arguments: Any) -> dict[str, Any]:
        result = await self.call(tool, **arguments)
        assert not result.is_error, f"{tool} failed: {result.content}"
        assert result.structured_content is not None
        return dict(result.structured_content)

    async def err(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """The error body {code, message, retryable, details} of a call that must fail."""
        result = await self.call(tool, **arguments)
        assert result.is_error, f"{tool} unexpectedly succeeded: {result.structured_content}"
        body = json.loads(result.content[0].text)  # type: ignore[union-attr]
        assert set(body) == {"code", "message", "retryable", "details"}, body
        return dict(body)

    async def pay(self, amount: str = "100.00", method: str = "pm_card_visa", **arguments: Any) -> dict[str, Any]:
        """A payment that must not fail; returns the payment."""
        result = await self.ok("create_payment", currency="USD", amount=amount, payment_method=method, **arguments)
        return dict(result["payment"])

    async def payment(self, payment_id: str) -> dict[str, Any]:
        """get_payment: the payment with its attempts, refunds and events."""
        return await self.ok("get_payment", payment_id=payment_id)

    async def ledger_ok(self) -> None:
        report = await self.ok("check_ledger_integrity")
        assert report["ok"], report["problems"]
