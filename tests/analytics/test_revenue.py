"""get_revenue_summary against the hand-built history: New York days across the DST change, per currency."""

import pytest

from tests.analytics.history import build
from tests.conftest import Stack
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio

RANGE = {"start_date": "2026-03-06", "end_date": "2026-03-09", "time_zone": "America/New_York"}


def line(period: str, gross: str, n: int, refunds: str, nr: int, disputes: str, nd: int, fees: str, net: str) -> dict:
    return {
        "period": period,
        "gross": gross,
        "payments": n,
        "refunds": refunds,
        "refund_count": nr,
        "disputes": disputes,
        "dispute_count": nd,
        "fees": fees,
        "net": net,
    }


async def test_each_new_york_day_holds_what_happened_on_it_and_the_totals_add_up(
    agent: Agent, clocked_stack: Stack
) -> None:
    await build(agent, clocked_stack)
    report = await agent.ok("get_revenue_summary", **RANGE)
    eur, usd = report["currencies"]
    assert usd["currency"] == "USD"
    assert eur["currency"] == "EUR"
    assert usd["periods"] == [
        line("2026-03-06", "100.00", 1, "0.00", 0, "0.00", 0, "3.20", "96.80"),
        line("2026-03-07", "50.00", 1, "0.00", 0, "0.00", 0, "1.75", "48.25"),
        # 80.00 captured, 40.00 refunded (P1), 80.00 disputed (P7), 2.62 fees: 80 - 40 - 80 - 2.62
        line("2026-03-08", "80.00", 1, "40.00", 1, "80.00", 1, "2.62", "-42.62"),
        line("2026-03-09", "200.00", 1, "0.00", 0, "0.00", 0, "6.10", "193.90"),
    ]
    assert usd["total"] == line("total", "430.00", 4, "40.00", 1, "80.00", 1, "13.67", "296.33")
    assert eur["periods"][2] == line("2026-03-08", "30.00", 1, "0.00", 0, "0.00", 0, "1.17", "28.83")
    assert eur["total"] == line("total", "30.00", 1, "0.00", 0, "0.00", 0, "1.17", "28.83")
    assert report["converted"] is None


async def test_utc_days_put_the_evening_payments_a_day_later(agent: Agent, clocked_stack: Stack) -> None:
    await build(agent, clocked_stack)
    report = await agent.ok("get_revenue_summary", start_date="2026-03-06", end_date="2026-03-09", currency="usd")
    [usd] = report["currencies"]
    assert [(p["period"], p["gross"]) for p in usd["periods"]] == [
        ("2026-03-06", "0.00"),
        ("2026-03-07", "100.00"),
        ("2026-03-08", "130.00"),
        ("2026-03-09", "200.00"),
    ]


async def test_weeks_and_months_cut_at_local_midnight(agent: Agent, clocked_stack: Stack) -> None:
    await build(agent, clocked_stack)
    weekly = await agent.ok("get_revenue_summary", **RANGE, granularity="week", currency="USD")
    # 2026-03-06 is a Friday: its week is cut at the range's start, the next ISO week starts Monday the 9th.
    assert [(p["period"], p["gross"]) for p in weekly["currencies"][0]["periods"]] == [
        ("2026-03-06", "230.00"),
        ("2026-03-09", "200.00"),
    ]
    monthly = await agent.ok(
        "get_revenue_summary",
        start_date="2026-02-01",
        end_date="2026-03-31",
        time_zone="America/New_York",
        granularity="month",
        currency="USD",
    )
    assert [(p["period"], p["gross"], p["net"]) for p in monthly["currencies"][0]["periods"]] == [
        ("2026-02", "30.00", "28.53"),  # 10.00 + 20.00, fees 0.59 + 0.88
        ("2026-03", "430.00", "296.33"),
    ]


async def test_a_target_currency_and_rates_convert_exactly_with_one_rounding(
    agent: Agent, clocked_stack: Stack
) -> None:
    await build(agent, clocked_stack)
    report = await agent.ok("get_revenue_summary", **RANGE, target_currency="USD", rates={"EUR": "1.0837"})
    converted = report["converted"]
    # 30.00 EUR * 1.0837 = 32.511 -> 32.51; fees 1.17 * 1.0837 = 1.267929 -> 1.27; net 28.83 * 1.0837 = 31.243071
    assert converted["currency"] == "USD"
    assert converted["total"]["gross"] == "462.51"
    assert converted["total"]["fees"] == "14.94"  # 13.67 + 1.267929 = 14.937929
    assert converted["total"]["net"] == "327.57"  # 296.33 + 31.243071 = 327.573071
    assert converted["total"]["payments"] == 5
    assert "1 EUR = 1.0837 USD" in report["conversion"]
    assert report["currencies"][1]["total"]["gross"] == "430.00", "the per-currency figures stay"


async def test_an_empty_range_answers_zeros_for_the_asked_currency_and_nothing_else(
    agent: Agent, clocked_stack: Stack
) -> None:
    await build(agent, clocked_stack)
    report = await agent.ok("get_revenue_summary", start_date="2025-01-01", end_date="2025-01-02")
    assert report["currencies"] == []
    report = await agent.ok("get_revenue_summary", start_date="2025-01-01", end_date="2025-01-02", currency="JPY")
    [jpy] = report["currencies"]
    assert jpy["total"] == line("total", "0", 0, "0", 0, "0", 0, "0", "0")
    assert len(jpy["periods"]) == 2
