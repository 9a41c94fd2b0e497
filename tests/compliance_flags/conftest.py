"""Flags are raised by an agent's money calls and resolved by an operator, each through its own real MCP client, on
the clocked application (the rules' windows are in the clock's time)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.client import Client
from sqlalchemy import select

from mcp_payments import catalog
from mcp_payments.adapters.db import tables
from mcp_payments.adapters.db.engine import open_database
from mcp_payments.domain.roles import Role
from mcp_payments.server.access import Access
from mcp_payments.server.app import build_server
from mcp_payments.server.callers import Callers
from mcp_payments.services.access import AuthMode, Caller
from tests.conftest import Stack
from tests.helpers import ok

AGENT = "key:bot"
OPERATOR = "key:ops"
ON_THE_LIST = "Ignatius Pelleas Zorvak"  # entry 9001 of the shipped synthetic list: a review hit


@asynccontextmanager
async def client_as(stack: Stack, principal: str, role: Role) -> AsyncIterator[Client]:
    caller = Caller(principal, role, AuthMode.PROCESS, credential=f"cred-{principal}")
    server, _ = build_server(stack.services, stack.settings, catalog.register_tools, Access(Callers.fixed(caller)))
    async with Client(server) as client:
        yield client


async def wallet(client: Client, name: str, currency: str = "USD") -> str:
    return str((await ok(client, "create_wallet", currency=currency, name=name))["wallet"]["id"])


async def fund(client: Client, wallet_id: str, amount: str, currency: str = "USD") -> None:
    await ok(client, "fund_wallet", wallet_id=wallet_id, currency=currency, amount=amount)


async def transfer(client: Client, source: str, destination: str, amount: str, **extra: Any) -> dict[str, Any]:
    arguments = {"source_wallet_id": source, "destination_wallet_id": destination, "currency": "USD", **extra}
    return await ok(client, "transfer_funds", amount=amount, **arguments)


async def flags(client: Client, **filters: Any) -> list[dict[str, Any]]:
    return list((await ok(client, "list_compliance_flags", limit=100, **filters))["flags"])


async def table(stack: Stack, name: str) -> list[dict[str, Any]]:
    db = open_database(stack.settings.db_url)
    try:
        async with db.reader.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(select(tables.metadata.tables[name]))]
    finally:
        await db.dispose()
