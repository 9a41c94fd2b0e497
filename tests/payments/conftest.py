from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, MutableMapping
from typing import Any

import httpx2
import pytest
import structlog
from mcp.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine

from mcp_payments.logging import merge_call_context
from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.payments.card_scan import card_numbers_in, dump_database
from tests.payments.signed_events import OLD_WEBHOOK_SECRET, SECRET_KEY, WEBHOOK_SECRET


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Known keys, so tests can sign provider events (and nothing is written to the user's data dir)."""
    return {"secret_key": SECRET_KEY, "webhook_secrets": (WEBHOOK_SECRET, OLD_WEBHOOK_SECRET)}


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """Every structlog event of the test with its bound context, before any redaction would run."""
    with structlog.testing.capture_logs(processors=[merge_call_context]) as captured:
        yield captured


def engine(stack: Stack) -> AsyncEngine:
    return stack.services.uow.db.reader  # type: ignore[attr-defined, no-any-return]  # the SQL factory


@pytest.fixture
async def agent(
    clocked_stack: Stack, logs: list[MutableMapping[str, Any]], caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Agent]:
    """A real MCP client on the clocked application. Every scenario must end with a sound ledger and no
    card number in the database, the logs or any output."""
    caplog.set_level(logging.INFO)
    async with Client(clocked_stack.server) as client:
        agent = Agent(client)
        yield agent
        await agent.ledger_ok()
    stored = await dump_database(engine(clocked_stack))
    leaks = {
        "tool outputs": card_numbers_in(agent.outputs),
        "structlog": card_numbers_in(map(repr, logs)),
        "stdlib logging": card_numbers_in([caplog.text]),
        "database": card_numbers_in(stored),
    }
    assert {where: found for where, found in leaks.items() if found} == {}


@pytest.fixture
async def provider_http(clocked_stack: Stack) -> AsyncIterator[httpx2.AsyncClient]:
    """HTTP to the server's own app in-process (POST /provider/events), on the test's clock."""
    transport = httpx2.ASGITransport(app=clocked_stack.server.streamable_http_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://payments.test") as http:
        yield http
