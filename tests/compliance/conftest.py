"""Erasure and retention are driven through a real MCP client, as an admin (erase_customer_data's role), on the
clocked application (the retention windows are crossed by advancing the fake clock)."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp.client import Client
from sqlalchemy import text

from mcp_payments import catalog
from mcp_payments.domain.roles import Role
from mcp_payments.server.access import Access
from mcp_payments.server.app import build_server
from mcp_payments.server.callers import Callers
from mcp_payments.services.access import AuthMode, Caller
from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.payments.conftest import engine
from tests.payments.signed_events import SECRET_KEY, WEBHOOK_SECRET


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"secret_key": SECRET_KEY, "webhook_secrets": (WEBHOOK_SECRET,), "webhooks_allow_loopback": True}


async def agent_as(stack: Stack, role: Role, name: str) -> AsyncIterator[Agent]:
    caller = Caller(f"key:{name}", role, AuthMode.PROCESS, credential=f"key_{name}")
    server, _ = build_server(stack.services, stack.settings, catalog.register_tools, Access(Callers.fixed(caller)))
    async with Client(server) as client:
        yield Agent(client)


@pytest.fixture
async def admin(clocked_stack: Stack) -> AsyncIterator[Agent]:
    async for agent in agent_as(clocked_stack, Role.ADMIN, "dpo"):
        yield agent


async def rows(stack: Stack, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with engine(stack).connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(text(sql), params)]
