"""Renewals are claimed from the database: however many runners take part, each period is invoiced and paid once."""

import anyio
import pytest
from sqlalchemy import func, select

from mcp_payments.adapters.db import tables
from mcp_payments.services.job_runner import JobRunner
from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.payments.conftest import engine
from tests.subscriptions.conftest import clock_of, plan, subscribe

pytestmark = pytest.mark.anyio


async def test_concurrent_runners_invoice_every_period_exactly_once_and_pay_each_invoice_once(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock, services = clock_of(clocked_stack), clocked_stack.services
    p = await plan(agent, "5.00")
    subs = [(await subscribe(agent, p["id"], trial_days=n))["subscription"]["id"] for n in range(6)]
    clock.advance(days=80)  # to Mar 22: periods 0, 1 and 2 of each (anchors Jan 1 to Jan 6)
    runners = [JobRunner(services.calls, clock, services.jobs, worker=f"runner-{n}") for n in range(3)]

    async def work(runner: JobRunner) -> None:
        while (await runner.run_pass()).more:
            pass

    for _ in range(6):  # each pass renews a subscription by one period at most
        async with anyio.create_task_group() as group:
            for runner in runners:
                group.start_soon(work, runner)

    async with engine(clocked_stack).connect() as conn:
        invoices = tables.invoices
        rows = (await conn.execute(select(invoices.c.subscription_id, invoices.c.period_index))).all()
        payments = (await conn.execute(select(func.count()).select_from(tables.payments))).scalar_one()
        paid = (await conn.execute(select(func.count()).where(invoices.c.status == "paid"))).scalar_one()
    assert len(rows) == len(set(rows))
    per_subscription = {s: sorted(i for sub, i in rows if sub == s) for s in subs}
    assert per_subscription == {s: [0, 1, 2] for s in subs}
    assert payments == paid == len(rows)


async def test_a_batch_of_renewals_leaves_one_audit_record_per_renewal_binding_its_own_payment(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock, services = clock_of(clocked_stack), clocked_stack.services
    p = await plan(agent, "5.00")
    subs = [(await subscribe(agent, p["id"], trial_days=1))["subscription"]["id"] for _ in range(3)]
    clock.advance(days=2)  # the three trials end together: one batch renews them in one transaction
    renewals = [job for job in services.jobs if job.name == "renew_subscriptions"]
    await JobRunner(services.calls, clock, renewals).run_pass()

    async with services.uow(write=False) as uow:
        records = [r.record for r in await uow.audit.page(None, 100, "renew_subscriptions")]
    invoices = {s: (await agent.ok("list_invoices", subscription_id=s))["invoices"] for s in subs}
    assert sorted(next(e for e in r["entity_ids"] if e.startswith("sub_")) for r in records) == sorted(subs)
    for record in records:
        (sub,) = [e for e in record["entity_ids"] if e.startswith("sub_")]
        (invoice,) = invoices[sub]
        assert invoice["status"] == "paid"
        assert set(record["entity_ids"]) == {sub, invoice["id"], invoice["payment_id"]}
        (journal,) = record["journal"]  # the capture of this renewal's payment, and no other renewal's
        payment = await agent.ok("get_payment", payment_id=invoice["payment_id"])
        assert [journal[0]] == [t["id"] for t in payment["ledger"]]
