"""The cohorts of get_customer_insights from each customer's months row (migration 0027) answer as the base tables
do: customers with deltas waiting, with their first payment in a range's edge, whose first payment moves earlier."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select, text

from mcp_payments.adapters.db import customer_months, migrate
from mcp_payments.adapters.db.analytics_repo import SqlAnalytics
from mcp_payments.adapters.db.tables import analytics_customer_deltas, analytics_customer_months
from mcp_payments.bootstrap import sweep_once
from tests.analytics.test_rollups import ZONES, _count, bulk_load
from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.payments.conftest import engine

pytestmark = pytest.mark.anyio

JAN, FEB, MAR, APR = (int(datetime(2026, m, 1, tzinfo=UTC).timestamp()) for m in (1, 2, 3, 4))


def test_a_mask_is_read_as_the_buckets_of_its_months() -> None:
    buckets = {JAN: 0, FEB: 1, MAR: 2}
    assert customer_months.add_months(JAN, 3) == APR
    assert customer_months.add_months(JAN, -1) == int(datetime(2025, 12, 1, tzinfo=UTC).timestamp())
    assert customer_months.add_months(JAN, 62) == int(datetime(2031, 3, 1, tzinfo=UTC).timestamp())
    # First in January, paid in January, March and April (April is outside the range).
    assert customer_months.cells(JAN, 0b1101, buckets) == {(0, 0), (0, 2)}
    assert customer_months.cells(FEB, 0b1, buckets) == {(1, 1)}
    assert customer_months.cells(APR, 0b1, buckets) == set()  # a cohort outside the range
    # Two UTC months in one bucket count once; the highest bit is a month too.
    assert customer_months.cells(JAN, 0b11, {JAN: 0, FEB: 0}) == {(0, 0)}
    last = customer_months.add_months(JAN, customer_months.BITS - 1)
    assert customer_months.cells(JAN, 1 << (customer_months.BITS - 1), {JAN: 0, last: 1}) == {(0, 1)}


async def _months(stack: Stack) -> dict[tuple[str, str], tuple[int, int]]:
    m = analytics_customer_months
    async with engine(stack).connect() as conn:
        rows = await conn.execute(select(m.c.customer_id, m.c.currency, m.c.first_month, m.c.mask))
        return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows}


def _requests() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for zone in ZONES:
        span = {"start_date": "2026-01-01", "end_date": "2026-04-30", "time_zone": zone}
        found += [span, {**span, "currency": "EUR"}, {**span, "start_date": "2026-01-20", "end_date": "2026-03-10"}]
    return found


async def _cohorts(agent: Agent) -> list[Any]:
    return [(await agent.ok("get_customer_insights", **args))["cohorts"] for args in _requests()]


async def _agree(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The cohorts now, asserted equal to the base tables' answer; returns them."""
    rolled = await _cohorts(agent)
    with monkeypatch.context() as m:
        m.setattr(SqlAnalytics, "use_rollups", False)
        assert rolled == await _cohorts(agent)
    return rolled


async def test_cohorts_from_the_months_rows_equal_the_base_tables_before_and_after_compaction(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = clocked_stack.clock
    assert clock is not None
    expanded: list[int] = []
    cells = customer_months.cells

    def counted(first: int, mask: int, buckets: dict[int, int]) -> set[tuple[int, int]]:
        expanded.append(mask)
        return cells(first, mask, buckets)

    monkeypatch.setattr(customer_months, "cells", counted)
    ids = [(await agent.ok("create_customer", name=f"c{n}"))["customer"]["id"] for n in range(5)]
    steady, moved, edge, euro, late = ids

    async def pay(at: datetime, customer: str, currency: str = "USD", **more: Any) -> dict[str, Any]:
        clock.current = at
        args = {"currency": currency, "amount": "10.00", "payment_method": "pm_card_visa", "customer_id": customer}
        return dict((await agent.ok("create_payment", **args, **more))["payment"])

    await pay(datetime(2026, 1, 15, 12, tzinfo=UTC), steady)  # mid-month: in no zone's edge
    held = await pay(datetime(2026, 1, 28, 12, tzinfo=UTC), moved, capture_method="manual")
    await pay(datetime(2026, 2, 1, 3, tzinfo=UTC), edge)  # January's last hours in New York: an edge
    await pay(datetime(2026, 2, 1, 12, tzinfo=UTC), moved)  # the first payment, until the one above captures
    await sweep_once(clocked_stack.services)
    assert (await _months(clocked_stack))[moved, ""] == (FEB, 0b1)
    clock.current = datetime(2026, 2, 2, tzinfo=UTC)
    await agent.ok("capture_payment", payment_id=held["id"])  # an older payment captures: the first moves earlier
    assert (await _months(clocked_stack))[moved, ""] == (FEB, 0b1)  # stale until compacted: read the exact way
    await _agree(agent, monkeypatch)
    await pay(datetime(2026, 2, 14, tzinfo=UTC), euro, currency="EUR")
    await pay(datetime(2026, 2, 20, tzinfo=UTC), euro)
    await sweep_once(clocked_stack.services)
    rows = await _months(clocked_stack)
    assert rows[moved, ""] == rows[moved, "USD"] == (JAN, 0b11)
    assert rows[euro, ""] == (FEB, 0b1)  # two currencies in one month: one bit
    assert rows[euro, "EUR"] == rows[euro, "USD"] == (FEB, 0b1)
    for month in (3, 4):
        await pay(datetime(2026, month, 15, 12, tzinfo=UTC), steady)
    await pay(datetime(2026, 3, 14, tzinfo=UTC), edge)
    await pay(datetime(2026, 5, 20, tzinfo=UTC), late)  # after the range
    assert await _count(clocked_stack, analytics_customer_deltas) > 0
    await _agree(agent, monkeypatch)  # deltas waiting
    await sweep_once(clocked_stack.services)
    rows = await _months(clocked_stack)
    assert rows[steady, ""] == rows[steady, "USD"] == (JAN, 0b1101)
    assert rows[late, ""] == (int(datetime(2026, 5, 1, tzinfo=UTC).timestamp()), 0b1)
    assert any(await _agree(agent, monkeypatch))
    assert expanded  # the months rows answered for some


async def test_the_migration_builds_the_months_rows_of_an_existing_history(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = clocked_stack.clock
    assert clock is not None
    customer = (await agent.ok("create_customer", name="c"))["customer"]["id"]
    for at in (datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 3, 31, 23, tzinfo=UTC)):
        clock.current = at
        await agent.pay("5.00", customer_id=customer)
    await sweep_once(clocked_stack.services)
    before = await _months(clocked_stack)
    db = clocked_stack.services.uow.db  # type: ignore[attr-defined]
    async with migrate.exclusive(db) as conn:
        await conn.run_sync(lambda c: command.downgrade(migrate._config(c), "0026"))
    await migrate.upgrade(db)
    assert await _months(clocked_stack) == before == {(customer, ""): (JAN, 0b101), (customer, "USD"): (JAN, 0b101)}
    upgraded = await _cohorts(agent)
    monkeypatch.setattr(SqlAnalytics, "use_rollups", False)
    assert upgraded == await _cohorts(agent)


async def _rebuilt(stack: Stack) -> dict[tuple[str, str], tuple[int, int]]:
    """The months rows built afresh from the rollups and first payments (as the migration does)."""
    pg = stack.services.uow.db.admin.dialect.name == "postgresql"  # type: ignore[attr-defined]
    async with stack.services.uow.db.admin.begin() as conn:  # type: ignore[attr-defined]
        for statement in customer_months.rebuild(pg, None):
            await conn.execute(text(statement))
    return await _months(stack)


async def test_a_demo_data_bulk_load_leaves_the_months_rows_as_built_afresh(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bulk_load(clocked_stack, months=5)
    kept = await _months(clocked_stack)
    assert kept
    assert kept == await _rebuilt(clocked_stack)
    assert any(mask > 1 for _, mask in kept.values())  # customers paying again in later months
    await _agree(agent, monkeypatch)
