"""The cohorts of get_customer_insights from each customer's months row (migration 0027) answer as the base tables
do: customers with deltas waiting, with their first payment in a range's edge, whose first payment moves earlier."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select, text

from mcp_payments.adapters.db import cohort_sql, customer_insights, customer_months, migrate
from mcp_payments.adapters.db.analytics_repo import SqlAnalytics
from mcp_payments.adapters.db.tables import analytics_customer_deltas, analytics_customer_months
from mcp_payments.bootstrap import sweep_once
from mcp_payments.domain.periods import Bucket
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


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _days(zone: str, start: str, end: str, currency: str | None = None) -> dict[str, Any]:
    args = {"start_date": start, "end_date": end, "time_zone": zone}
    return args if currency is None else {**args, "currency": currency}


DAYS = [
    _days("UTC", "2026-03-10", "2026-05-20"),  # both ends inside a month, taken away
    _days("UTC", "2026-02-22", "2026-05-10"),  # both ends added: the last bucket holds no whole month
    _days("UTC", "2026-03-10", "2026-05-31"),  # the start only
    _days("America/New_York", "2026-02-22", "2026-05-20"),  # hours at each month and days at each end
    _days("Asia/Kolkata", "2026-03-10", "2026-05-10"),
    _days("UTC", "2026-03-10", "2026-05-20", "EUR"),
    _days("America/New_York", "2026-02-22", "2026-05-10", "EUR"),
]


async def test_the_cohorts_of_a_range_of_arbitrary_days_correct_the_months_rows_its_ends_cut(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = clocked_stack.clock
    assert clock is not None
    fixed: list[int] = []
    correct = customer_months.fixed

    def counted(cohort: int, first: int, mask: int, cut: tuple[int, int], *more: Any) -> set[tuple[int, int]]:
        fixed.append(mask)
        return correct(cohort, first, mask, cut, *more)

    def fallback(*_: Any) -> None:
        raise AssertionError("every customer's monthly sums read")  # the tool fails: an internal error

    monkeypatch.setattr(customer_months, "fixed", counted)
    names = ("before", "added", "late", "rest", "end", "euro", "zone", "waiting")
    ids = dict(zip(names, [(await agent.ok("create_customer", name=n))["customer"]["id"] for n in names], strict=True))

    async def pay(customer: str, *days: datetime, currency: str = "USD") -> None:
        for at in days:
            clock.current = at
            args = {"currency": currency, "amount": "10.00", "payment_method": "pm_card_visa"}
            await agent.ok("create_payment", **args, customer_id=ids[customer])

    await pay("before", at(3, 5), at(4, 15))  # first in a start stretch taken away: in no cohort of 03-10..
    await pay("added", at(2, 25), at(3, 15), at(5, 5))  # first in a start stretch added (02-22..)
    await pay("late", at(3, 15), at(5, 25))  # paid in May only after 05-20
    await pay("rest", at(3, 16), at(5, 12), at(5, 25))  # in May before 05-20 too
    await pay("end", at(4, 10), at(5, 8))  # paid in May only in the end stretch added (..05-10)
    await pay("euro", at(3, 20), at(4, 5, 2))  # USD first; EUR in April's first hours (March in New York)
    await pay("euro", at(4, 5), at(5, 25), currency="EUR")
    await pay("zone", at(3, 18), at(4, 1, 2), at(5, 1, 3))  # the last hours of March and April in New York
    await pay("waiting", at(3, 12))
    await sweep_once(clocked_stack.services)
    await pay("waiting", at(5, 22), at(4, 1, 1))  # deltas waiting: read the exact way
    assert await _count(clocked_stack, analytics_customer_deltas) > 0

    async def answers() -> list[Any]:
        return [(await agent.ok("get_customer_insights", **args))["cohorts"] for args in DAYS]

    monkeypatch.setattr(SqlAnalytics, "_cohorts", fallback)
    for _ in range(2):  # with deltas waiting, then all compacted
        rolled = await answers()
        with monkeypatch.context() as m:
            m.setattr(SqlAnalytics, "use_rollups", False)
            assert rolled == await answers()
        await sweep_once(clocked_stack.services)
    assert fixed
    march = {c["month"]: c for c in rolled[0]}["2026-03"]
    # 03-10..05-20: "before" is in no cohort; of the five, "rest" and "zone" paid in May before the 21st.
    assert march["customers"] == 5
    assert march["retention"][2] == "0.4000"


def test_a_bucket_without_a_whole_month_adds_its_own_days() -> None:
    months = [Bucket("2026-04", at(4, 1, 0), at(5, 1, 4)), Bucket("2026-05", at(5, 1, 4), at(5, 11, 4))]
    found, edges = customer_insights.split(months)
    assert found == [(0, APR, int(at(5, 1, 0).timestamp()))]
    assert cohort_sql.clipped(months, found, edges) == [
        (0, 1, at(5, 1, 0), at(5, 1, 4)),
        (1, 1, at(5, 1, 4), at(5, 11, 4)),
    ]
