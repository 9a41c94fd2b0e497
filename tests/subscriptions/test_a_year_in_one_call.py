"""A year of monthly renewals for 1,000 subscriptions runs in one advance_sandbox_clock call: every invoice issued
and paid once, one payment each, and the ledger and the audit chain agree (check_ledger_integrity)."""

import os

import pytest
from sqlalchemy import func, select

from mcp_payments.adapters.db import tables
from mcp_payments.domain.money import Money
from mcp_payments.domain.subscriptions import Interval
from mcp_payments.services.customers import CustomerService
from mcp_payments.services.payments.lifecycle import PaymentService
from mcp_payments.services.ports import UnitOfWork
from mcp_payments.services.subscriptions.lifecycle import SubscriptionService
from mcp_payments.services.subscriptions.plans import PlanService
from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.payments.conftest import engine
from tests.subscriptions.test_sandbox_clock import operator

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
# The size is 1,000 (12,000 renewals: about 14 minutes on PostgreSQL on this loaded 2-core machine, a
# quarter of it the closing integrity check, see docs/benchmarks.md); the default run keeps the same shape at a
# size CI can afford. Set MCP_PAYMENTS_YEAR_SUBSCRIPTIONS=1000 for the full run.
SUBSCRIPTIONS = int(os.environ.get("MCP_PAYMENTS_YEAR_SUBSCRIPTIONS", "40"))
BATCH = min(SUBSCRIPTIONS, 100)
MONTHS = 12


async def seed(stack: Stack) -> None:
    """1,000 customers on one monthly plan with a day's trial: nothing is charged until the clock moves (so the
    seed posts nothing the audit chain should name), and each is first charged on Jan 2."""
    services = stack.services
    customers, payments = services.get(CustomerService), services.get(PaymentService)
    subscriptions, plans = services.get(SubscriptionService), services.get(PlanService)
    method = payments.payment_method("pm_card_visa", None)

    async def make_plan(uow: UnitOfWork) -> str:
        return (await plans.create(uow, "Monthly", Money.of(1250, "USD"), Interval.MONTH, 1, 1)).id

    plan_id = await services.calls.write(make_plan)

    async def batch(uow: UnitOfWork) -> None:
        for n in range(BATCH):
            customer = await customers.create(uow, f"year{n}@example.com", f"Customer {n}", None)
            await subscriptions.create(uow, customer.id, plan_id, method, None)

    assert SUBSCRIPTIONS % BATCH == 0, "MCP_PAYMENTS_YEAR_SUBSCRIPTIONS: a multiple of 100 above 100"
    for _ in range(SUBSCRIPTIONS // BATCH):
        await services.calls.write(batch)


async def test_a_year_of_monthly_renewals_for_a_thousand_subscriptions_runs_in_one_call(
    agent: Agent, clocked_stack: Stack
) -> None:
    await seed(clocked_stack)

    async with operator(clocked_stack) as op:
        moved = await op.ok("advance_sandbox_clock", by="P1Y")

    renewals = SUBSCRIPTIONS * MONTHS  # Jan 2 (the trial's end), Feb 2 ... Dec 2
    assert moved["new_time"] == "2027-01-01T00:00:00Z"
    assert {j["job"]: j["done"] for j in moved["jobs"]}["renew_subscriptions"] == renewals
    assert all(j["failed"] == 0 for j in moved["jobs"])
    assert moved["steps"] >= MONTHS
    async with engine(clocked_stack).connect() as conn:

        async def count(table: tables.Table, *where: object) -> int:
            return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())  # type: ignore[arg-type]

        invoices, payments = tables.invoices, tables.payments
        assert await count(invoices) == renewals
        assert await count(invoices, invoices.c.status == "paid") == renewals
        assert await count(payments) == renewals
        assert await count(payments, payments.c.status == "succeeded") == renewals
        periods = select(invoices.c.subscription_id, invoices.c.period_index).distinct().subquery()
        assert int((await conn.execute(select(func.count()).select_from(periods))).scalar_one()) == renewals
        active = tables.subscriptions.c.status == "active"
        assert await count(tables.subscriptions, active) == SUBSCRIPTIONS
    # The agent fixture ends with check_ledger_integrity (journal, balances and the audit chain agree).
