"""The database itself refuses a second invoice for one (subscription, period), whatever the code does."""

import sqlite3
from dataclasses import replace

import asyncpg
import pytest
from sqlalchemy import exc

from mcp_payments.services.subscriptions.ports import SUBSCRIPTIONS
from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.subscriptions.conftest import plan, subscribe

pytestmark = pytest.mark.anyio


async def test_a_second_invoice_for_the_same_period_is_refused_by_the_unique_key(
    agent: Agent, clocked_stack: Stack
) -> None:
    first = (await subscribe(agent, (await plan(agent))["id"]))["invoice"]
    services = clocked_stack.services
    async with services.uow() as uow:
        invoice = await uow.repo(SUBSCRIPTIONS).get_invoice(first["id"])
    assert invoice is not None
    twin = replace(invoice, id=services.ids.new("inv"))

    async def add_twin() -> None:
        async with services.uow() as uow:
            await uow.repo(SUBSCRIPTIONS).add_invoice(twin)
            await uow.commit()

    # The invoice is written as plain SQL on the driver's connection (adapters/db/plain_rows.py): the driver's own
    # error, or SQLAlchemy's wrapping of it.
    refused = (exc.IntegrityError, sqlite3.IntegrityError, asyncpg.UniqueViolationError)
    with pytest.raises(refused, match=r"(?i)unique"):
        await add_twin()
    listed = await agent.ok("list_invoices", subscription_id=first["subscription_id"])
    assert [i["id"] for i in listed["invoices"]] == [first["id"]]
