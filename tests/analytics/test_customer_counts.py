"""get_customer_insights over a range that is not most of the history, from the months rows and the totals
(customer_counts.py, customer_best.py): the answer of the base tables for customers sure, uncertain (paid only in a
month an end cuts), stale (deltas waiting), first paying in a cut month outside the range; the best customers by a
walk of the totals and the months, ties included; and the fallbacks when a walk or the uncertain rows grow long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from mcp_payments.adapters.db import customer_best, customer_counts
from mcp_payments.adapters.db.analytics_repo import SqlAnalytics
from mcp_payments.adapters.db.customer_insights import CustomerInsights
from mcp_payments.adapters.db.tables import (
    analytics_customer_deltas,
    analytics_customer_month_groups,
    analytics_customer_months,
)
from mcp_payments.bootstrap import sweep_once
from mcp_payments.services.analytics.ports import Window
from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.payments.conftest import engine

pytestmark = pytest.mark.anyio


def _at(month: int, day: int = 1, year: int = 2026) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def _s(at: datetime) -> int:
    return int(at.timestamp())


def test_a_range_is_read_as_its_covering_months_the_sure_ones_and_the_cut_stretches() -> None:
    window = Window(_at(2, 10), _at(4, 20), None)
    plan = customer_counts.Plan.of(window, _s(_at(1)))
    assert plan is not None
    assert (plan.start, plan.end) == (_s(_at(2)), _s(_at(5)))
    assert plan.cut == [(_at(2), _at(2, 10)), (_at(4, 20), _at(5))]
    assert plan.inside == [(_at(2, 10), _at(3)), (_at(4), _at(4, 20))]
    # First in January: bit 0 January, 1 February, 2 March, 3 April.
    assert plan.covering[_s(_at(1))] == 0b1110
    assert plan.sure[_s(_at(1))] == 0b100
    assert plan.covering[_s(_at(3))] == 0b11
    assert plan.sure[_s(_at(3))] == 0b1
    assert _s(_at(5)) not in plan.covering  # a first month after the range: no bit of it
    assert plan.kind(_s(_at(1)), 0b101) == 1  # paid in March
    assert plan.kind(_s(_at(1)), 0b1011) == -1  # paid in February and April only: which days?
    assert plan.kind(_s(_at(1)), 0b1) == 0  # January only
    # Whole months: nothing cut. Ends at a month start: the month before is the last covered.
    whole = customer_counts.Plan.of(Window(_at(2), _at(4), "EUR"), _s(_at(1)))
    assert whole is not None
    assert whole.cut == whole.inside == []
    assert whole.sure == whole.covering
    assert (whole.start, whole.end) == (_s(_at(2)), _s(_at(4)))
    # More months from the first one than a mask holds: not from the rows.
    assert customer_counts.Plan.of(window, _s(_at(1, year=2020))) is None
    assert customer_counts.Plan.of(window, _s(_at(4, year=2021))) is not None


def test_the_walk_stops_once_the_best_are_above_what_any_unread_customer_can_reach() -> None:
    found = {("USD", "cus_b"): (500, 1), ("USD", "cus_a"): (500, 2), ("USD", "cus_c"): (700, 0), ("EUR", "x"): (9, 1)}
    # Best first; a tie goes to the lower id; a customer with no payment in the range is not ranked.
    assert customer_best.ranked(found, "USD", 2) == [(500, "cus_a"), (500, "cus_b")]
    rows = [("USD", -1, "cus_a", 900), ("USD", -1, "cus_b", 600), ("USD", 0, "cus_b", 300), ("USD", 0, "cus_a", 200)]
    assert customer_best.bound(rows, "USD", 2, 0) == 600  # the totals: the next is at most the last read
    assert customer_best.bound(rows, "USD", 2, 1) == 200  # one month: its next net is lower
    assert customer_best.bound(rows, "USD", 3, 1) is None  # fewer totals than asked: every one is read
    # A month whose rows are all read adds nothing.
    assert customer_best.bound(rows[:3], "USD", 2, 1) == 0


async def groups_agree(stack: Stack) -> None:
    """The group counts (migration 0029) are the months rows counted by (currency, first month, mask)."""
    m, g = analytics_customer_months, analytics_customer_month_groups
    grouped = select(m.c.currency, m.c.first_month, m.c.mask, func.count()).group_by(
        m.c.currency, m.c.first_month, m.c.mask
    )
    async with engine(stack).connect() as conn:
        expected = sorted(tuple(row) for row in await conn.execute(grouped))
        kept = sorted(tuple(row) for row in await conn.execute(select(g)))
    assert [row for row in kept if row[3] != 0] == expected
    assert all(row[3] >= 0 for row in kept)
    assert expected


class Paths:
    """Which ways customer_totals took, recorded around the real ones."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.masks: list[bool] = []
        self.uncertain: list[int] = []
        self.parts: set[int] = set()
        by_masks, add = CustomerInsights._by_masks, customer_counts.Tally.add

        async def recorded(insights: CustomerInsights, window: Window, limit: int, span: Any) -> Any:
            found = await by_masks(insights, window, limit, span)
            self.masks.append(found is not None)
            return found

        def added(tally: customer_counts.Tally, rows: Any) -> None:
            rows = list(rows)
            self.parts.update(int(r[0]) for r in rows)
            add(tally, rows)
            self.uncertain.append(sum(tally.uncertain.values()))

        monkeypatch.setattr(CustomerInsights, "_by_masks", recorded)
        monkeypatch.setattr(customer_counts.Tally, "add", added)


REQUESTS: list[dict[str, Any]] = [
    {"start_date": "2026-02-10", "end_date": "2026-04-19"},
    {"start_date": "2026-02-10", "end_date": "2026-04-19", "currency": "EUR"},
    {"start_date": "2026-02-10", "end_date": "2026-04-19", "currency": "USD", "top": 2},
    {"start_date": "2026-02-10", "end_date": "2026-04-19", "top": 1, "time_zone": "America/New_York"},
    {"start_date": "2026-02-01", "end_date": "2026-03-31", "top": 3},  # whole months: nothing uncertain
    {"start_date": "2026-01-05", "end_date": "2026-05-20", "top": 2},  # five months: the totals alone bound
]


async def _answers(agent: Agent) -> list[Any]:
    found = []
    for args in REQUESTS:
        body = await agent.ok("get_customer_insights", **args)
        found.append({k: body[k] for k in body if k != "cohorts"})
    return found


async def _agree(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    rolled = await _answers(agent)
    with monkeypatch.context() as m:
        m.setattr(SqlAnalytics, "use_rollups", False)
        assert rolled == await _answers(agent)
    return rolled


async def test_counts_and_best_customers_from_the_rows_equal_the_base_tables(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = clocked_stack.clock
    assert clock is not None
    paths = Paths(monkeypatch)
    names = ("early", "inside", "steady", "cut_first", "new_euro", "late", "april", "returning", "tie_a", "tie_b")
    ids = {n: (await agent.ok("create_customer", name=n))["customer"]["id"] for n in names}

    async def pay(at: datetime, who: str, amount: str = "10.00", currency: str = "USD") -> str:
        clock.current = at
        args = {"currency": currency, "amount": amount, "payment_method": "pm_card_visa", "customer_id": ids[who]}
        return str((await agent.ok("create_payment", **args))["payment"]["id"])

    await pay(_at(1, 10), "returning", "40.00")
    await pay(_at(2, 5), "early", "900.00")  # February, before the range: in no count
    await pay(_at(2, 15), "inside", "30.00")  # February, in the range: uncertain, paid
    await pay(_at(3, 10), "steady", "55.00")
    await pay(_at(2, 3), "cut_first", "12.00", "EUR")  # the first payment, in the cut stretch
    await pay(_at(3, 12), "cut_first", "13.00", "EUR")
    await pay(_at(2, 12), "new_euro", "21.00", "EUR")
    await pay(_at(4, 25), "late", "800.00")  # April, after the range
    await pay(_at(4, 10), "april", "20.00")
    refunded = await pay(_at(3, 5), "returning", "70.00")
    await pay(_at(3, 6), "tie_a", "45.00")
    await pay(_at(3, 7), "tie_b", "45.00")
    clock.current = _at(3, 8)
    await agent.ok("refund_payment", payment_id=refunded, amount="25.00")  # nets 45.00: a three-way tie
    await sweep_once(clocked_stack.services)
    await groups_agree(clocked_stack)
    await _agree(agent, monkeypatch)
    # Deltas waiting: a customer of a row and a customer of none yet, in the range and out of it.
    await pay(_at(3, 25), "steady", "5.00")
    await pay(_at(4, 22), "tie_b", "1.00")
    clock.current = _at(5, 1)
    async with engine(clocked_stack).connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(analytics_customer_deltas))).scalar_one() > 0
    waiting = await _agree(agent, monkeypatch)
    await sweep_once(clocked_stack.services)
    await groups_agree(clocked_stack)  # rows rebuilt: groups left and joined
    assert await _agree(agent, monkeypatch) == waiting

    assert all(paths.masks)  # every request was read from the rows
    assert max(paths.uncertain) > 0
    assert {customer_counts.STALE, customer_counts.EXACT, customer_counts.CUT_FIRST} <= paths.parts
    first = waiting[0]
    assert first["paying_customers"] == 8  # all but early and late
    best = [(c["customer_id"], c["net_revenue"]) for c in first["top_customers"] if c["currency"] == "USD"]
    assert best[0] == (ids["steady"], "60.00")
    assert [net for _, net in best[1:4]] == ["45.00"] * 3
    assert [c for c, _ in best[1:4]] == sorted(ids[n] for n in ("returning", "tie_a", "tie_b"))
    euro = waiting[1]
    assert (euro["paying_customers"], euro["new_customers"]) == (2, 1)  # cut_first returns, new_euro is new

    # The fallbacks: too many uncertain rows, too long a walk; the same answer grouped by customer.
    for module, name in ((customer_counts, "MAX_UNCERTAIN"), (customer_best, "MAX_WALK")):
        with monkeypatch.context() as m:
            m.setattr(module, name, 0)
            paths.masks.clear()
            assert await _agree(agent, monkeypatch) == waiting
            assert not any(paths.masks[:3])


async def test_a_history_longer_than_a_mask_is_grouped_by_customer(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = clocked_stack.clock
    assert clock is not None
    paths = Paths(monkeypatch)
    customer = (await agent.ok("create_customer", name="old"))["customer"]["id"]
    # 63 months apart: the later one is past the last bit of the row's mask (a mask of bit 62 alone would also be
    # a Luhn-valid 19-digit number to the card scan of the database).
    for at in (_at(12, 15, 2020), _at(3, 15)):
        clock.current = at
        await agent.ok(
            "create_payment", currency="USD", amount="10.00", payment_method="pm_card_visa", customer_id=customer
        )
    await sweep_once(clocked_stack.services)
    clock.current = _at(4, 1) + timedelta(days=1)
    body = await agent.ok("get_customer_insights", start_date="2026-02-10", end_date="2026-03-31")
    assert (body["paying_customers"], body["returning_customers"]) == (1, 1)
    assert paths.masks == [False]
