"""Webhooks are driven through a real MCP client, as an admin (the role their writes need), on the clocked
application with loopback deliveries allowed; a real receiver on 127.0.0.1 verifies what arrives."""

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
from mcp_payments.services.job_runner import JobRunner
from mcp_payments.services.notifications.delivery import WebhookSender
from tests.conftest import FakeClock, Stack
from tests.payments.agent import Agent
from tests.payments.conftest import engine
from tests.payments.signed_events import SECRET_KEY, WEBHOOK_SECRET


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"secret_key": SECRET_KEY, "webhook_secrets": (WEBHOOK_SECRET,), "webhooks_allow_loopback": True}


@pytest.fixture
async def admin(clocked_stack: Stack) -> AsyncIterator[Agent]:
    caller = Caller("key:ops", Role.ADMIN, AuthMode.PROCESS, credential="key_ops")
    server, _ = build_server(
        clocked_stack.services, clocked_stack.settings, catalog.register_tools, Access(Callers.fixed(caller))
    )
    async with Client(server) as client:
        yield Agent(client)


def clock_of(stack: Stack) -> FakeClock:
    assert stack.clock is not None
    return stack.clock


async def deliver(stack: Stack) -> int:
    """One run of the deliver_webhooks job, as serve and worker run it: deliveries it sent."""
    job = stack.services.get(WebhookSender).job()
    return (await stack.services.get(JobRunner).run(job)).done


async def endpoint(admin: Agent, url: str, *types: str) -> dict[str, Any]:
    return await admin.ok("create_webhook_endpoint", url=url, event_types=list(types or ["payment.succeeded"]))


async def pay(admin: Agent, amount: str = "12.00", method: str = "pm_card_visa") -> dict[str, Any]:
    return dict((await admin.ok("create_payment", amount=amount, currency="USD", payment_method=method))["payment"])


async def rows(stack: Stack, table: str) -> list[dict[str, Any]]:
    async with engine(stack).connect() as conn:
        result = await conn.execute(text(f"SELECT * FROM {table}"))  # a fixed table name
        return [dict(r._mapping) for r in result]
