"""The MRR arithmetic on grouped rows from a hand-written fake repository: every interval normalised to a month,
each movement kind, and the identity checked before rounding (no database: the SQL is tested in
test_subscription_metrics.py)."""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from mcp_payments.services.analytics.ports import MrrGroup, Trials
from mcp_payments.services.analytics.service import AnalyticsService

pytestmark = pytest.mark.anyio


class Clock:
    def now(self) -> datetime:
        return datetime(2026, 6, 1, tzinfo=UTC)


class Repo:
    def __init__(self, groups: list[MrrGroup]) -> None:
        self.groups = groups

    async def mrr(self, window: Any) -> list[MrrGroup]:
        return self.groups

    async def trials(self, window: Any) -> Trials:
        return Trials(4, 3)


class Uow:
    def __init__(self, repo: Repo) -> None:
        self.analytics = repo

    def repo(self, _: Any) -> Repo:
        return self.analytics


def group(interval: str, count: int, **sums: int) -> MrrGroup:
    fields = dict.fromkeys(("start", "end", "new", "expansion", "contraction", "churn", "reactivation"), 0)
    counts = {"subscriptions_start": 1, "subscriptions_end": 1, "churned": 0}
    return MrrGroup("USD", interval, count, **{**fields, **counts, **sums})  # type: ignore[arg-type]


async def test_every_interval_is_normalised_to_a_month_and_the_movements_reconcile() -> None:
    groups = [
        # month plans: 100 -> 150 by expansion 50
        group("month", 1, start=10_000, end=15_000, expansion=5_000),
        # a quarter (3 months) contracting 300 -> 240: 100 -> 80 a month
        group("month", 3, start=30_000, end=24_000, contraction=6_000),
        # a year plan churned: 1200 / 12 = 100
        group("year", 1, start=120_000, end=0, churn=120_000),
        # a weekly plan reactivated: 10 * 52 / 12 = 43.333...
        group("week", 1, start=0, end=1_000, reactivation=1_000),
        # a daily plan, new: 1 * 365 / 12 = 30.4166...
        group("day", 1, start=0, end=100, new=100),
    ]
    service = AnalyticsService(Clock())
    q = service.question(date(2026, 5, 1), date(2026, 5, 31), "UTC", None)
    report = await service.subscriptions(Uow(Repo(groups)), q)  # type: ignore[arg-type]
    [usd] = report.currencies
    assert (usd.mrr_start, usd.mrr_end) == ("300.00", "303.75")  # 100 + 100 + 100; 150 + 80 + 43.33.. + 30.41..
    assert (usd.new, usd.expansion, usd.reactivation, usd.contraction, usd.churn) == (
        "30.42",
        "50.00",
        "43.33",
        "20.00",
        "100.00",
    )
    assert usd.identity_holds, "300 + 30.41.. + 50 + 43.33.. - 20 - 100 = 303.75 exactly"
    assert usd.gross_revenue_retention == "0.6000"  # (300 - 20 - 100) / 300
    assert usd.net_revenue_retention == "0.7667"  # (300 + 50 - 20 - 100) / 300
    assert (report.trials_ended, report.trials_converted, report.trial_conversion_rate) == (4, 3, "0.7500")
