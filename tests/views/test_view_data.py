"""The data the views show (services/views.py), on both databases: the same numbers as the tools, in one read, and
only what the caller's role lets it see."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mcp_payments.domain.errors import DomainError
from mcp_payments.domain.roles import Role
from mcp_payments.services.access import AuthMode, Caller
from mcp_payments.services.views import Views
from tests.analytics import history
from tests.conftest import Stack
from tests.controls.test_approvals import AGENT, DOLLAR, agent_and_operator, held_transfer, wallets
from tests.controls.test_spending_limits import set_policy
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio
OPERATOR = Caller("key:ops", Role.OPERATOR, AuthMode.PROCESS)
VIEWER = Caller("key:viewer", Role.VIEWER, AuthMode.PROCESS)


def views(stack: Stack) -> Views:
    return stack.services.get(Views)


async def read(stack: Stack, operation: Any) -> Any:
    return await stack.services.calls.read(operation)


async def test_the_dashboard_shows_the_numbers_the_analytics_tools_answer(agent: Agent, clocked_stack: Stack) -> None:
    await history.build(agent, clocked_stack)
    first, last = date(2026, 3, 1), date(2026, 3, 19)
    summary = await read(
        clocked_stack,
        lambda uow: views(clocked_stack).dashboard_summary(uow, VIEWER, first, last, "America/New_York"),
    )
    args = {"start_date": "2026-03-01", "end_date": "2026-03-19", "time_zone": "America/New_York"}
    revenue = await agent.ok("get_revenue_summary", **args)
    rates = await agent.ok("get_payment_success_rates", **args, top=5)
    mrr = await agent.ok("get_subscription_metrics", **args)

    assert (summary.start_date, summary.end_date) == ("2026-03-01", "2026-03-19")
    assert [c.currency for c in summary.revenue.currencies] == ["EUR", "USD"]
    for mine, theirs in zip(summary.revenue.currencies, revenue["currencies"], strict=True):
        assert mine.total.net == theirs["total"]["net"]
        assert mine.total.gross == theirs["total"]["gross"]
        assert [(p.period, p.net) for p in mine.periods] == [(p["period"], p["net"]) for p in theirs["periods"]]
    assert summary.success.overall.authorization_rate == rates["overall"]["authorization_rate"]
    assert summary.success.overall.declined == rates["overall"]["declined"] == 2
    assert [(d.code, d.count) for d in summary.success.top_decline_codes] == [
        (d["code"], d["count"]) for d in rates["top_decline_codes"]
    ]
    assert [(c.currency, c.mrr_end) for c in summary.subscriptions.currencies] == [
        (c["currency"], c["mrr_end"]) for c in mrr["currencies"]
    ]
    jobs = (await agent.ok("list_background_jobs"))["jobs"]
    assert [s.name for s in summary.jobs] == [j["name"] for j in jobs]
    assert summary.pending_approvals == 0
    assert summary.approvals.approvals == []


async def test_the_dashboard_counts_every_wallet_and_lists_the_first_twenty(agent: Agent, clocked_stack: Stack) -> None:
    for n in range(22):
        wallet = (await agent.ok("create_wallet", currency="EUR" if n % 2 else "USD", name=f"w{n}"))["wallet"]["id"]
        await agent.ok("fund_wallet", wallet_id=wallet, amount="1.25", currency="EUR" if n % 2 else "USD")
    summary = await read(clocked_stack, lambda uow: views(clocked_stack).dashboard_summary(uow, VIEWER, None, None))

    assert len(summary.balances.wallets) == 20
    assert summary.balances.total_wallets == 22
    assert [(t.currency, t.wallets, t.posted, t.available) for t in summary.balances.totals] == [
        ("EUR", 11, 1375, 1375),
        ("USD", 11, 1375, 1375),
    ]


async def test_a_payment_timeline_holds_its_attempts_refunds_dispute_and_ledger_in_time_order(
    agent: Agent, clocked_stack: Stack
) -> None:
    h = await history.build(agent, clocked_stack)
    payments = (await agent.ok("list_payments", customer_id=h.a, limit=100))["payments"]
    refunded = next(p for p in payments if p["amount"]["amount"] == "100.00")
    disputed = (await agent.ok("list_payments", customer_id=h.c, limit=100))["payments"]
    disputed_id = next(p["id"] for p in disputed if p["amount"]["amount"] == "80.00")

    timeline = await read(clocked_stack, lambda uow: views(clocked_stack).payment_timeline(uow, refunded["id"]))
    kinds = [s.kind for s in timeline.steps]
    assert kinds[0] == "created"
    assert "attempt" in kinds
    assert "ledger" in kinds
    assert [s.amount for s in timeline.steps if s.kind == "refund"] == [4000]
    assert [s.at for s in timeline.steps] == sorted(s.at for s in timeline.steps)
    assert kinds.index("refund") > kinds.index("attempt")

    dispute = await read(clocked_stack, lambda uow: views(clocked_stack).payment_timeline(uow, disputed_id))
    assert "dispute" in [s.kind for s in dispute.steps]
    assert any(s.kind == "ledger" and "dispute" in s.title for s in dispute.steps)


async def test_an_unknown_payment_or_wallet_is_not_found(clocked_stack: Stack) -> None:
    v = views(clocked_stack)
    with pytest.raises(DomainError) as payment:
        await read(clocked_stack, lambda uow: v.payment_timeline(uow, "pay_01JB0000000000000000000000"))
    with pytest.raises(DomainError) as wallet:
        await read(clocked_stack, lambda uow: v.wallet_view(uow, "wal_01JB0000000000000000000000", None, 20))
    assert (payment.value.code, wallet.value.code) == ("payment_not_found", "wallet_not_found")


async def test_a_wallet_view_pages_the_statement_that_get_wallet_statement_shows(
    agent: Agent, clocked_stack: Stack
) -> None:
    wallet = (await agent.ok("create_wallet", currency="USD"))["wallet"]["id"]
    for n in range(3):
        await agent.ok("fund_wallet", wallet_id=wallet, amount=f"{n + 1}.00", currency="USD")
    v = views(clocked_stack)

    first = await read(clocked_stack, lambda uow: v.wallet_view(uow, wallet, None, 2))
    rest = await read(clocked_stack, lambda uow: v.wallet_view(uow, wallet, first.statement.next_cursor, 2))
    tool = await agent.ok("get_wallet_statement", wallet_id=wallet, limit=2)

    assert (first.wallet.posted, first.wallet.available) == (600, 600)
    assert [line.amount for line in first.statement.items] == [300, 200]
    assert [line.amount for line in rest.statement.items] == [100]
    assert rest.statement.next_cursor is None
    assert [e["transaction_id"] for e in tool["lines"]] == [line.transaction_id for line in first.statement.items]


async def test_the_approval_queue_shows_an_operator_everyones_and_anyone_else_their_own(clocked_stack: Stack) -> None:
    await set_policy(clocked_stack, AGENT, approval_above=50 * DOLLAR)
    async with agent_and_operator(clocked_stack) as (agent, _):
        source, destination = await wallets(agent)
        held = await held_transfer(agent, source, destination)
    approval_id = (held.structured_content or {})["approval_id"]
    v = views(clocked_stack)

    mine = await read(clocked_stack, lambda uow: v.approval_queue(uow, Caller(AGENT, Role.AGENT, AuthMode.PROCESS)))
    everyone = await read(clocked_stack, lambda uow: v.approval_queue(uow, OPERATOR))
    other = await read(clocked_stack, lambda uow: v.approval_queue(uow, VIEWER))
    summary = await read(clocked_stack, lambda uow: v.dashboard_summary(uow, OPERATOR, None, None))

    assert [a.id for a in mine.approvals] == [approval_id]
    assert not mine.everyone
    assert [a.id for a in everyone.approvals] == [approval_id]
    assert everyone.everyone
    assert other.approvals == []
    assert summary.pending_approvals == 1
    assert [a.id for a in summary.approvals.approvals] == [approval_id]
