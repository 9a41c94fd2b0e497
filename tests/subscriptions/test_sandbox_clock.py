"""advance_sandbox_clock: time moves forward only, at most two years a call, the due work runs in time order on the
way, the offset is kept in the database for every process, and bad input is refused writing nothing."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mcp.client import Client
from sqlalchemy import select

from mcp_payments import catalog
from mcp_payments.adapters.db import tables
from mcp_payments.bootstrap import application
from mcp_payments.domain.roles import Role
from mcp_payments.server.access import Access
from mcp_payments.server.app import build_server
from mcp_payments.server.callers import Callers
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools import sandbox_clock
from mcp_payments.services.access import AuthMode, Caller
from mcp_payments.services.clock_advance import ClockAdvance
from mcp_payments.services.container import Services
from mcp_payments.services.job_runner import JobRunner
from mcp_payments.services.sandbox_clock import SandboxClock
from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.payments.conftest import engine
from tests.server.rows import row_counter
from tests.subscriptions.conftest import plan, subscribe

pytestmark = pytest.mark.anyio
START = datetime(2026, 1, 1, tzinfo=UTC)  # the fake clock's time


@asynccontextmanager
async def operator(stack: Stack, register: Any = catalog.register_tools) -> AsyncIterator[Agent]:
    caller = Caller("test:operator", Role.OPERATOR, AuthMode.PROCESS, credential="cred-operator")
    server, _ = build_server(stack.services, stack.settings, register, Access(Callers.fixed(caller)))
    async with Client(server) as client:
        yield Agent(client)


async def test_a_year_renews_each_subscription_every_month_in_time_order_and_says_what_it_did(
    agent: Agent, clocked_stack: Stack
) -> None:
    monthly = await plan(agent, "10.00")
    paying = (await subscribe(agent, monthly["id"]))["subscription"]["id"]
    trialing = (await subscribe(agent, monthly["id"], trial_days=14))["subscription"]["id"]
    declined = (await subscribe(agent, monthly["id"], "pm_card_chargeDeclined"))["subscription"]["id"]

    async with operator(clocked_stack) as op:
        moved = await op.ok("advance_sandbox_clock", by="P1Y")

    assert moved["previous_time"] == "2026-01-01T00:00:00Z"
    assert moved["new_time"] == "2027-01-01T00:00:00Z"
    done = {j["job"]: j["done"] for j in moved["jobs"]}
    assert done["renew_subscriptions"] == 12 + 12  # Feb 1 .. Jan 1, and the trial's Jan 15 .. Dec 15
    assert done["expire_incomplete_subscriptions"] == 1
    assert (await agent.ok("get_subscription", subscription_id=declined))["status"] == "incomplete_expired"
    for sub, periods in ((paying, 13), (trialing, 12)):
        invoices = (await agent.ok("list_invoices", subscription_id=sub, limit=100))["invoices"]
        assert len(invoices) == periods
        assert {i["status"] for i in invoices} == {"paid"}
        # Each invoice was made at its period's start: the clock stood there when its renewal ran.
        assert all(i["created_at"] == i["period_start"] for i in invoices)
    assert (await agent.ok("get_subscription", subscription_id=trialing))[
        "current_period_end"
    ] == "2027-01-15T00:00:00Z"
    # Every tool now reads the new time.
    customer = (await agent.ok("create_customer", email="late@example.com", name="Late"))["customer"]
    assert customer["created_at"].startswith("2027-01-01")


async def test_the_offset_is_kept_in_the_database_and_another_process_reads_it_when_it_starts(
    agent: Agent, clocked_stack: Stack
) -> None:
    async with operator(clocked_stack) as op:
        await op.ok("advance_sandbox_clock", to="2026-03-01T00:00:00Z")
    async with engine(clocked_stack).connect() as conn:
        offset_us, advancing = (
            await conn.execute(select(tables.sandbox_clock.c.offset_us, tables.sandbox_clock.c.advancing_to))
        ).one()
    assert timedelta(microseconds=offset_us) == timedelta(days=59)
    assert advancing is None

    class Fixed:
        def now(self) -> datetime:
            return START

    async with application(clocked_stack.settings, clock=Fixed()) as (_, _, other):
        assert other.clock.now() == datetime(2026, 3, 1, tzinfo=UTC)


async def test_a_retry_with_the_same_key_moves_the_clock_once(agent: Agent, clocked_stack: Stack) -> None:
    async with operator(clocked_stack) as op:
        first = await op.ok("advance_sandbox_clock", by="P1D", idempotency_key="clock-tick-1")
        again = await op.ok("advance_sandbox_clock", by="P1D", idempotency_key="clock-tick-1")
    assert (first["deduplicated"], again["deduplicated"]) == (False, True)
    assert again["new_time"] == first["new_time"] == "2026-01-02T00:00:00Z"
    assert clocked_stack.services.clock.now() == START + timedelta(days=1)


async def test_an_interrupted_advance_is_finished_by_the_next_call(agent: Agent, clocked_stack: Stack) -> None:
    monthly = await plan(agent, "10.00")
    sub = (await subscribe(agent, monthly["id"]))["subscription"]["id"]
    advance = _advance(clocked_stack.services, sandbox=True)
    # The command committed its target, and the process died before the due work ran.
    await clocked_stack.services.calls.write(lambda uow: advance.start(uow, "P2M", None))

    async with operator(clocked_stack) as op:
        moved = await op.ok("advance_sandbox_clock", by="P1D")

    # The interrupted advance ran first (to Mar 1, renewing Feb 1 and Mar 1), then this one, from there.
    assert {j["job"]: j["done"] for j in moved["jobs"]}["renew_subscriptions"] == 2
    assert moved["new_time"] == "2026-03-02T00:00:00Z"
    invoices = (await agent.ok("list_invoices", subscription_id=sub))["invoices"]
    assert len(invoices) == 3


def _advance(services: Services, *, sandbox: bool) -> ClockAdvance:
    return ClockAdvance(services.get(SandboxClock), services.calls, services.get(JobRunner), sandbox=sandbox)


async def test_a_server_whose_provider_is_not_the_sandbox_refuses_to_move_time(clocked_stack: Stack) -> None:
    def with_a_real_provider(box: Toolbox, services: Services) -> None:
        sandbox_clock.register(box, _advance(services, sandbox=False), "subscriptions")

    async with operator(clocked_stack, with_a_real_provider) as op:
        refused = await op.err("advance_sandbox_clock", by="P1D")
    assert refused["code"] == "sandbox_only"
    assert "real payment provider" in refused["message"]
    assert clocked_stack.services.clock.now() == START


BAD_INPUT: list[tuple[dict[str, Any], str, str]] = [
    ({}, "invalid_clock_advance", "either by="),
    ({"by": "P1D", "to": "2026-02-01T00:00:00Z"}, "invalid_clock_advance", "not both"),
    ({"by": "P0D"}, "invalid_clock_advance", "moves time by nothing"),
    ({"by": "PT0S"}, "invalid_clock_advance", "moves time by nothing"),
    ({"by": "-P1D"}, "invalid_clock_advance", "not an ISO 8601 duration"),
    ({"by": "P-1D"}, "invalid_clock_advance", "not an ISO 8601 duration"),
    ({"by": "1 month"}, "invalid_clock_advance", "not an ISO 8601 duration"),
    ({"by": "P"}, "invalid_clock_advance", "not an ISO 8601 duration"),
    ({"by": "P1DT"}, "invalid_clock_advance", "not an ISO 8601 duration"),
    ({"by": "P１D"}, "invalid_clock_advance", "not an ISO 8601 duration"),  # a full-width digit
    ({"by": "P3Y"}, "invalid_clock_advance", "at most 2 years"),
    ({"by": "P25M"}, "invalid_clock_advance", "at most 2 years"),
    ({"by": "P2Y1D"}, "invalid_clock_advance", "at most 2 years"),
    ({"by": "P999999D"}, "invalid_clock_advance", "at most 2 years"),
    ({"by": "P9999999D"}, "invalid_clock_advance", "not an ISO 8601 duration"),
    ({"to": "2025-12-31T23:59:59Z"}, "invalid_clock_advance", "only moves forward"),
    ({"to": "2026-01-01T00:00:00Z"}, "invalid_clock_advance", "only moves forward"),
    ({"to": "2028-01-01T00:00:01Z"}, "invalid_clock_advance", "at most 2 years"),
    ({"to": "2026-02-01T00:00:00"}, "invalid_argument", "to"),  # no time zone
    ({"to": "next tuesday"}, "invalid_argument", "to"),
    ({"to": "2026-02-30T00:00:00Z"}, "invalid_argument", "to"),
    ({"by": "P1D\x00"}, "invalid_argument", "control character"),
    ({"by": "P1D\u202e"}, "invalid_argument", "by"),
    ({"by": "P" + "1" * 100 + "D"}, "invalid_argument", "by"),
    ({"by": 30}, "invalid_argument", "by"),
]


@pytest.mark.parametrize(("arguments", "code", "says"), BAD_INPUT)
async def test_bad_input_is_refused_with_a_clear_error_and_writes_nothing(
    clocked_stack: Stack, arguments: dict[str, Any], code: str, says: str
) -> None:
    async with operator(clocked_stack) as op, row_counter(clocked_stack.settings.db_url) as count:
        before = await count()
        refused = await op.err("advance_sandbox_clock", **arguments)
        assert await count() == before
    assert refused["code"] == code, refused
    assert says in refused["message"], refused
    assert clocked_stack.services.clock.now() == START


async def test_an_agent_is_not_shown_the_clock_and_an_operator_is(clocked_stack: Stack) -> None:
    async with operator(clocked_stack) as op:
        assert "advance_sandbox_clock" in {t.name for t in (await op.client.list_tools()).tools}
    async with Client(clocked_stack.server) as as_agent:  # stdio's local user is an agent
        assert "advance_sandbox_clock" not in {t.name for t in (await as_agent.list_tools()).tools}
