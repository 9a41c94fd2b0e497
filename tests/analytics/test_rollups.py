"""The rollups (migration 0024) answer every analytics tool exactly as the base tables do.

A randomized history made through the real tools on a fake clock, with changes after the fact: payments captured
hours or days after they were created, 3-D Secure completed later, partial refunds, refunds that fail later,
disputes that arrive later, cancellations; the compaction job runs at random points in between. Then every
analytics tool, in time zones with whole-hour, half-hour, 45-minute and half-hour-DST offsets, by day, week and
month, answers the same with the rollups (compacted sums plus waiting deltas, then all compacted) as from the base
tables (SqlAnalytics.use_rollups = False).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, inspect, select, text

from mcp_payments import demo_cli
from mcp_payments.adapters.db import customer_insights, customer_totals, migrate, rollups
from mcp_payments.adapters.db.analytics_repo import SqlAnalytics
from mcp_payments.adapters.db.tables import (
    analytics_attempt_deltas,
    analytics_attempt_rollups,
    analytics_currency_months,
    analytics_customer_deltas,
    analytics_customer_firsts,
    analytics_customer_rollups,
    analytics_customer_totals,
    analytics_revenue_deltas,
    analytics_revenue_rollups,
)
from mcp_payments.bootstrap import sweep_once
from mcp_payments.domain.periods import Bucket
from mcp_payments.services.analytics.ports import Window
from mcp_payments.services.analytics.rollups import COMPACTOR
from mcp_payments.services.demo.spec import DemoSpec
from mcp_payments.services.job_runner import JobRunner
from tests.analytics.test_customer_counts import Paths, groups_agree
from tests.conftest import TEST_SECRETS, Stack
from tests.payments.agent import Agent
from tests.payments.conftest import engine

pytestmark = pytest.mark.anyio

ZONES = ("UTC", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns")
AUTOMATIC = (
    "pm_card_visa",
    "pm_card_mastercard",
    "pm_card_chargeDeclined",
    "pm_card_chargeDeclinedInsufficientFunds",
    "pm_card_chargeDeclinedLostCard",
    "pm_card_refundFail",
    "pm_card_createDispute",
    "pm_card_threeDSecureRequired",
)
CURRENCIES = ("USD", "EUR", "JPY")
START = datetime(2026, 1, 3, 10, 7, tzinfo=UTC)
RATES = {"EUR": "1.08", "JPY": "0.0067", "GBP": "1.27"}


def _amount(rng: random.Random, currency: str) -> str:
    return str(rng.randint(1, 900)) if currency == "JPY" else f"{rng.randint(1, 900)}.{rng.randint(0, 99):02d}"


async def random_history(agent: Agent, stack: Stack, seed: int, steps: int) -> datetime:
    """A history of `steps` calls spread over about two months; returns the instant it ends."""
    rng = random.Random(seed)
    clock = stack.clock
    assert clock is not None
    clock.current = START
    customers = [(await agent.ok("create_customer", name=f"c{n}"))["customer"]["id"] for n in range(6)]
    manual: list[str] = []  # authorized, to capture or cancel later
    challenged: list[str] = []  # 3-D Secure asked for, to complete later
    paid: list[str] = []  # captured, to refund
    for _ in range(steps):
        clock.advance(minutes=rng.choice((1, 7, 14, 29, 44, 61, 300, 1439, 2000)))
        roll = rng.random()
        if roll < 0.45:
            currency = rng.choice(CURRENCIES)
            method = rng.choice(AUTOMATIC)
            capture = "manual" if rng.random() < 0.25 and "Declined" not in method else "automatic"
            customer = rng.choice([*customers, None])
            result = await agent.call(
                "create_payment",
                currency=currency,
                amount=_amount(rng, currency),
                payment_method=method,
                capture_method=capture,
                **({"customer_id": customer} if customer else {}),
            )
            payment = dict((result.structured_content or {}).get("payment", {}))
            if payment.get("status") == "requires_capture":
                manual.append(str(payment["id"]))
            elif payment.get("status") == "requires_action":
                challenged.append(str(payment["id"]))
            elif payment.get("status") == "succeeded":
                paid.append(str(payment["id"]))
        elif roll < 0.6 and manual:  # an authorization may have expired meanwhile: the call then fails
            payment_id = manual.pop(rng.randrange(len(manual)))
            if rng.random() < 0.8:
                if not (await agent.call("capture_payment", payment_id=payment_id)).is_error:
                    paid.append(payment_id)
            else:
                await agent.call("cancel_payment", payment_id=payment_id)
        elif roll < 0.7 and challenged:  # an abandoned challenge may have been canceled meanwhile
            payment_id = challenged.pop(rng.randrange(len(challenged)))
            result = await agent.call("confirm_payment", payment_id=payment_id)
            status = dict((result.structured_content or {}).get("payment", {})).get("status")
            if status == "requires_capture":
                manual.append(payment_id)
            elif status == "succeeded":
                paid.append(payment_id)
        elif roll < 0.85 and paid:
            # Partial refunds; one more than what is left fails, leaving no trace.
            await agent.call("refund_payment", payment_id=rng.choice(paid), amount_minor=rng.randint(1, 30_000))
        else:
            await sweep_once(stack.services)  # disputes arrive, refunds fail, the rollups compact
    return clock.current


def _requests(last: str) -> list[tuple[str, dict[str, Any]]]:
    first = START.date().isoformat()
    # Halfway: some customers paid before (returning), and the ends are days away from any month's start.
    middle = (START.date() + (date.fromisoformat(last) - START.date()) / 2).isoformat()
    following = date.fromisoformat(last).replace(day=28) + timedelta(days=4)
    month_end = following - timedelta(days=following.day)
    found: list[tuple[str, dict[str, Any]]] = []
    for zone in ZONES:
        span = {"start_date": first, "end_date": last, "time_zone": zone}
        # Ranges of arbitrary days: each end is more than a day from a month's start.
        later = {**span, "start_date": middle}
        whole = {**span, "start_date": "2025-12-20", "end_date": month_end.isoformat()}
        found += [
            ("get_customer_insights", later),
            ("get_customer_insights", {**later, "currency": "EUR", "top": 2}),
            ("get_customer_insights", {**span, "end_date": middle, "currency": "JPY"}),
            # February whole, January cut: customers who paid in January only are read one by one.
            (
                "get_customer_insights",
                {**span, "start_date": "2026-01-25", "end_date": "2026-02-28", "currency": "JPY"},
            ),
            # From before the history to the end of its last month: nothing of it outside the range.
            ("get_customer_insights", whole),
            ("get_customer_insights", {**whole, "currency": "USD", "top": 2}),
        ]
        if last > "2026-02-01":  # from the history's second month: its first month outside the range
            second = {**span, "start_date": "2026-02-01"}
            found += [
                ("get_customer_insights", second),
                ("get_customer_insights", {**second, "currency": "EUR", "top": 2}),
            ]
        found += [("get_revenue_summary", {**span, "granularity": g}) for g in ("day", "week", "month")]
        found += [
            ("get_revenue_summary", {**span, "granularity": "day", "currency": "EUR"}),
            ("get_revenue_summary", {**span, "target_currency": "USD", "rates": RATES}),
            ("get_payment_success_rates", span),
            ("get_payment_success_rates", {**span, "currency": "JPY"}),
            ("get_customer_insights", span),
            ("get_subscription_metrics", span),
            ("forecast_revenue", {**span, "granularity": "day", "currency": "USD", "method": "linear", "horizon": 3}),
        ]
    return found


async def _answers(agent: Agent, requests: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    return [(tool, args, await agent.ok(tool, **args)) for tool, args in requests]


async def _count(stack: Stack, table: Any) -> int:
    async with engine(stack).connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_every_analytics_tool_answers_from_the_rollups_as_from_the_base_tables(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    end = await random_history(agent, clocked_stack, seed=12, steps=140)
    requests = _requests((end - timedelta(days=1)).date().isoformat())
    chosen: list[list[Bucket] | None] = []
    months_outside: list[str | None] = []  # the currency of each range read as the totals less whole months
    choose = customer_totals.outside

    def recorded(window: Window, span: customer_totals.Span | None) -> list[Bucket] | None:
        # JPY ranges are read the other ways: from the months rows and a walk of the totals, or grouped by customer.
        chosen.append(None if window.currency == "JPY" else choose(window, span))
        if any(b.end - b.start > timedelta(days=27) for b in chosen[-1] or []):
            months_outside.append(window.currency)
        return chosen[-1]

    monkeypatch.setattr(customer_totals, "outside", recorded)
    paths = Paths(monkeypatch)
    # A history of two months: the totals less one month outside too (the choice is a cost; the answer is the same).
    monkeypatch.setattr(customer_totals, "OUTSIDE_COST", 0.5)
    assert await _count(clocked_stack, analytics_revenue_deltas) > 0  # some changes are not compacted yet
    assert await _count(clocked_stack, analytics_customer_deltas) > 0

    rolled = await _answers(agent, requests)
    await sweep_once(clocked_stack.services)
    assert await _count(clocked_stack, analytics_revenue_deltas) == 0
    assert await _count(clocked_stack, analytics_attempt_deltas) == 0
    assert await _count(clocked_stack, analytics_revenue_rollups) > 0
    assert await _count(clocked_stack, analytics_attempt_rollups) > 0
    assert await _count(clocked_stack, analytics_customer_deltas) == 0
    assert await _count(clocked_stack, analytics_customer_rollups) > 0
    compacted = await _answers(agent, requests)
    monkeypatch.setattr(SqlAnalytics, "use_rollups", False)
    base = await _answers(agent, requests)

    assert rolled == base
    assert compacted == base
    # Every way of reading the customer totals was taken: the totals with nothing outside the range, the totals less
    # the months outside it, the months inside it.
    assert [] in chosen
    assert any(c for c in chosen)
    assert None in months_outside
    assert "EUR" in months_outside
    assert None in chosen
    # And of the others: from the months rows and a walk of the totals, or by grouping customers.
    assert True in paths.masks
    assert False in paths.masks
    # Not trivially equal: the history has revenue, refunds, disputes and declines in it.
    revenue = next(body for tool, _, body in base if tool == "get_revenue_summary")
    usd = next(c for c in revenue["currencies"] if c["currency"] == "USD")["total"]
    assert usd["payments"] > 5
    assert usd["refund_count"] > 0
    assert usd["dispute_count"] > 0
    rates = next(body for tool, _, body in base if tool == "get_payment_success_rates")
    assert rates["overall"]["declined"] > 0
    assert rates["challenges"] > 0
    insights = [body for tool, args, body in base if tool == "get_customer_insights" and "currency" not in args]
    assert all(i["paying_customers"] > 0 and i["cohorts"] for i in insights)
    assert any(i["returning_customers"] > 0 for i in insights)


async def test_compaction_is_idempotent_and_a_second_compactor_leaves_the_work_to_the_first(
    agent: Agent, clocked_stack: Stack, backend: str
) -> None:
    end = await random_history(agent, clocked_stack, seed=7, steps=50)
    requests = _requests((end - timedelta(days=1)).date().isoformat())
    before = await _answers(agent, requests)
    eng = engine(clocked_stack)
    admin = clocked_stack.services.uow.db.admin  # type: ignore[attr-defined]  # transactional connections

    async def rollup_rows() -> list[Any]:
        async with eng.connect() as conn:
            revenue = (
                await conn.execute(select(analytics_revenue_rollups).order_by(*analytics_revenue_rollups.c))
            ).all()
            attempts = (
                await conn.execute(select(analytics_attempt_rollups).order_by(*analytics_attempt_rollups.c))
            ).all()
            customers = (
                await conn.execute(select(analytics_customer_rollups).order_by(*analytics_customer_rollups.c))
            ).all()
        return [*revenue, *attempts, *customers]

    if backend == "postgresql":
        async with admin.connect() as first, admin.connect() as second:
            await first.begin()
            await second.begin()
            assert await rollups.compact(first)
            assert not await rollups.compact(second)  # the lock is taken: it does not wait, it moves nothing
            await second.commit()
            await first.commit()
    else:
        async with admin.begin() as conn:  # SQLite: a compaction holds the write lock; the next finds nothing left
            assert await rollups.compact(conn)
    assert await _count(clocked_stack, analytics_revenue_deltas) == 0
    once = await rollup_rows()
    assert once

    async with admin.begin() as conn:
        assert await rollups.compact(conn)
    runner = clocked_stack.services.get(JobRunner)
    [job] = [j for j in clocked_stack.services.jobs if j.name == COMPACTOR]
    await runner.run(job)  # the job itself, with nothing to do
    assert await rollup_rows() == once
    assert await _answers(agent, requests) == before


def test_ranges_on_quarter_hours_are_read_as_days_hours_and_quarters() -> None:
    # Kathmandu's day (UTC+5:45): 18:15 to 18:15 UTC.
    day = Bucket("2026-03-02", datetime(2026, 3, 1, 18, 15, tzinfo=UTC), datetime(2026, 3, 2, 18, 15, tzinfo=UTC))
    s = int(day.start.timestamp())
    assert rollups.pieces([day]) == [
        (0, 900, s, s + 2700),  # 18:15 - 19:00
        (0, 3600, s + 2700, s + 2700 + 23 * 3600),  # 19:00 - 18:00 (no whole UTC day inside)
        (0, 900, s + 2700 + 23 * 3600, s + 86_400),  # 18:00 - 18:15
    ]
    utc_year = Bucket("2026", datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert rollups.pieces([utc_year]) == [(0, 86_400, int(utc_year.start.timestamp()), int(utc_year.end.timestamp()))]
    # Local mean time (Kathmandu before 1920 was UTC+5:41:16): not on quarter hours, read from the base tables.
    odd = Bucket(
        "1900-01-01", datetime(1899, 12, 31, 18, 18, 44, tzinfo=UTC), datetime(1900, 1, 1, 18, 18, 44, tzinfo=UTC)
    )
    assert rollups.pieces([odd]) is None
    assert rollups.pieces([Bucket("x", day.start, day.start + timedelta(seconds=1))]) is None


async def test_a_payment_captured_in_a_later_hour_counts_in_the_hour_it_was_created(
    agent: Agent, clocked_stack: Stack
) -> None:
    clock = clocked_stack.clock
    assert clock is not None
    clock.current = datetime(2026, 3, 1, 23, 50, tzinfo=UTC)
    payment = await agent.pay("10.00", capture_method="manual")
    await sweep_once(clocked_stack.services)  # compacted while authorized only: nothing captured yet
    clock.current = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    await agent.ok("capture_payment", payment_id=payment["id"], amount="6.00")
    report = await agent.ok("get_revenue_summary", start_date="2026-03-01", end_date="2026-03-02", currency="USD")
    [usd] = report["currencies"]
    assert [(p["period"], p["gross"], p["payments"]) for p in usd["periods"]] == [
        ("2026-03-01", "6.00", 1),
        ("2026-03-02", "0.00", 0),
    ]
    async with engine(clocked_stack).connect() as conn:  # one delta per change, none for the authorization
        rows = await conn.execute(text("SELECT payments_captured, amount_received FROM analytics_revenue_deltas"))
        assert [tuple(r) for r in rows] == [(1, 600)]


async def bulk_load(stack: Stack, months: int) -> datetime:
    """Two demo-data loads ending 2026-06-01 (the clock set there, returned): one of `months` months, then one beside
    it."""
    end = datetime(2026, 6, 1, tzinfo=UTC)
    assert stack.clock is not None
    stack.clock.current = end
    db = stack.services.uow.db  # type: ignore[attr-defined]
    key = TEST_SECRETS["secret_key"].encode()
    await demo_cli.write_history(db.admin, DemoSpec(600, 3, months, end), key, append=False)
    await demo_cli.write_history(db.admin, DemoSpec(300, 4, 2, end), key, append=True)  # beside what is there
    return end


async def test_a_demo_data_bulk_load_leaves_the_rollups_compacted_and_equal_to_the_base_tables(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    end = await bulk_load(clocked_stack, months=3)
    assert await _count(clocked_stack, analytics_revenue_deltas) == 0  # folded in at the end of each load
    assert await _count(clocked_stack, analytics_attempt_deltas) == 0
    assert await _count(clocked_stack, analytics_customer_deltas) == 0
    assert await _count(clocked_stack, analytics_customer_rollups) > 0
    await groups_agree(clocked_stack)
    first = (end - timedelta(days=92)).date().isoformat()
    requests = [
        (tool, {**args, "start_date": first})
        for tool, args in _requests((end - timedelta(days=1)).date().isoformat())
        if tool != "forecast_revenue" and args["end_date"] >= first  # not the ranges of fixed dates before it
    ]
    rolled = await _answers(agent, requests)
    monkeypatch.setattr(SqlAnalytics, "use_rollups", False)
    assert rolled == await _answers(agent, requests)


def test_a_range_is_read_as_utc_months_with_its_ends_added_or_taken_away() -> None:
    # Kathmandu's March (UTC+5:45): from 18:15 on the last day of February to 18:15 on the last day of March, UTC.
    march = Bucket("2026-03", datetime(2026, 2, 28, 18, 15, tzinfo=UTC), datetime(2026, 3, 31, 18, 15, tzinfo=UTC))
    mar, apr = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    assert customer_insights.split([march]) == (
        [(0, int(mar.timestamp()), int(apr.timestamp()))],
        [(0, 1, march.start, mar), (0, -1, march.end, apr)],  # February's last hours in, April's first out
    )
    # Ten days inside a month: no whole month, the days themselves from its start.
    days = Bucket("x", datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 13, tzinfo=UTC))
    assert customer_insights.split([days]) == ([], [(0, -1, mar, days.start), (0, 1, mar, days.end)])
    # From the 20th to the 10th: a whole month taken from the nearest starts, less and more a few days.
    across = Bucket("y", datetime(2026, 2, 20, tzinfo=UTC), datetime(2026, 4, 10, tzinfo=UTC))
    assert customer_insights.split([across]) == (
        [(0, int(mar.timestamp()), int(apr.timestamp()))],
        [(0, 1, across.start, mar), (0, 1, apr, across.end)],
    )


async def test_the_migration_sums_an_existing_history_into_the_customer_rollups(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    end = await random_history(agent, clocked_stack, seed=5, steps=80)
    requests = [
        (t, a) for t, a in _requests((end - timedelta(days=1)).date().isoformat()) if t == "get_customer_insights"
    ]
    db = clocked_stack.services.uow.db  # type: ignore[attr-defined]
    async with migrate.exclusive(db) as conn:  # a deployment at 0025, with its history, upgraded
        await conn.run_sync(lambda c: command.downgrade(migrate._config(c), "0025"))  # the test's way down
        assert await conn.run_sync(lambda c: not inspect(c).has_table(analytics_customer_firsts.name))
    await migrate.upgrade(db)
    assert await _count(clocked_stack, analytics_customer_deltas) == 0  # summed straight into the rollups
    assert await _count(clocked_stack, analytics_customer_firsts) > 0

    upgraded = await _answers(agent, requests)
    monkeypatch.setattr(SqlAnalytics, "use_rollups", False)
    base = await _answers(agent, requests)
    assert upgraded == base
    assert any(body["paying_customers"] > 0 for _, _, body in base)


def test_the_customer_totals_are_read_from_the_cheaper_side_of_the_range() -> None:
    def at(month: int, day: int = 1) -> datetime:
        return datetime(2026, month, day, tzinfo=UTC)

    span = (at(1), at(7))  # January to June
    # Every month inside: the totals as they are.
    assert customer_totals.outside(Window(at(1), at(7), None), span) == []
    assert customer_totals.outside(Window(datetime(2025, 11, 3, tzinfo=UTC), at(9), "EUR"), span) == []
    # Five of the six months start inside, one outside (costing about three inside): the totals less the stretches
    # outside.
    assert customer_totals.outside(Window(at(1, 20), at(6, 20), None), span) == [
        Bucket("before", at(1), at(1, 20)),
        Bucket("after", at(6, 20), at(7)),
    ]
    # Four and two, or fewer inside: the months inside.
    assert customer_totals.outside(Window(at(2, 10), at(6, 20), None), span) is None
    assert customer_totals.outside(Window(at(1), at(4), None), span) is None
    assert customer_totals.outside(Window(at(3, 5), at(4, 5), None), span) is None
    assert customer_totals.outside(Window(at(3, 5), at(3, 25), None), span) is None  # no month starts inside
    assert customer_totals.outside(Window(at(1), at(7), None), None) is None  # no rollups or deltas at all
    # The span: the first month start held, to the end of the last month held, rollups or deltas.
    jan, mar, may = (int(at(m).timestamp()) for m in (1, 3, 5))
    assert customer_totals.span_of((mar, may, jan, None)) == (at(1), at(6))
    assert customer_totals.span_of((None, None, None, None)) is None


async def test_the_customer_totals_are_the_monthly_rollups_summed_after_an_upgrade_and_after_compactions(
    agent: Agent, clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    end = await random_history(agent, clocked_stack, seed=3, steps=60)
    requests = [
        (t, a) for t, a in _requests((end - timedelta(days=1)).date().isoformat()) if t == "get_customer_insights"
    ]
    r, totals, currencies = analytics_customer_rollups, analytics_customer_totals, analytics_currency_months
    summed = select(r.c.customer_id, r.c.currency, func.sum(r.c.payments), func.sum(r.c.net)).group_by(
        r.c.customer_id, r.c.currency
    )
    by_month = select(r.c.month, r.c.currency, func.sum(r.c.payments), func.sum(r.c.net)).group_by(
        r.c.month, r.c.currency
    )

    async def agree() -> None:
        async with engine(clocked_stack).connect() as conn:
            for sums, table in ((summed, totals), (by_month, currencies)):
                expected = sorted(tuple(row) for row in await conn.execute(sums))
                assert sorted(tuple(row) for row in await conn.execute(select(table))) == expected
                assert expected
        await groups_agree(clocked_stack)

    await agree()  # kept by the compactions the history ran
    db = clocked_stack.services.uow.db  # type: ignore[attr-defined]
    async with migrate.exclusive(db) as conn:  # a deployment at 0026, with its rollups, upgraded
        await conn.run_sync(lambda c: command.downgrade(migrate._config(c), "0026"))
        assert await conn.run_sync(lambda c: not inspect(c).has_table(totals.name))
        assert await conn.run_sync(lambda c: not inspect(c).has_table(currencies.name))
    await migrate.upgrade(db)
    await agree()  # filled from the rollups
    await sweep_once(clocked_stack.services)
    await agree()
    upgraded = await _answers(agent, requests)
    monkeypatch.setattr(SqlAnalytics, "use_rollups", False)
    assert upgraded == await _answers(agent, requests)
