"""Analytics and paging over a demo history of N payments (`mcp-payments demo-data`), on both backends.

    python benchmarks/analytics_scale.py [--backend sqlite|postgresql|both] [--sizes 10000,100000] [--rounds 5]
    python benchmarks/analytics_scale.py --db URL [--rounds 5]

With --db, a database that already holds a demo history (`mcp-payments demo-data --payments N --end 2026-12-01
--db URL`: the same seed and months) is measured as it is, without writing one: a million payments take a while
to generate, and can then be measured again after a change.

For each size a throwaway database gets a demo history (seed 1, 12 months; its generation time is printed),
then, through a real MCP client on the in-process server:

- each analytics tool over the history's last 12 months, with its latency printed beside a plain
  `SELECT ... GROUP BY` over the base tables doing the same aggregation, sent straight to the database in the
  same round (sqlite3 / asyncpg, no unit of work, no model): the floor for that aggregation;
- get_customer_insights over other ranges than the whole history (a time zone's year, a currency, one month, half
  the history, arbitrary days), each read a different way (adapters/db/customer_insights.py): tool ms alone;
- list_payments with filters (status, a customer, a created_at range) and get_wallet_statement of the busiest
  wallet, first page and the page five cursors in: the ratio of each size's median to the smallest size's
  (the aim: at most 1.2x).

Rounds interleave tool and plain query, so the machine's noise hits both alike. Medians are printed.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from benchlib import (
    Throwaway,
    bench_settings,
    by_size_table,
    machine_note,
    quiet_logging,
    table,
    throwaway_database,
    workdir,
)
from mcp.client import Client

from mcp_payments import runtime
from mcp_payments.bootstrap import application, load_secrets
from mcp_payments.demo_cli import write_history
from mcp_payments.services.demo.spec import DemoSpec

END = datetime(2026, 12, 1, tzinfo=UTC)
FIRST, LAST = date(2025, 12, 1), date(2026, 11, 30)  # the tools' inclusive range: the whole history
T0, T1 = datetime(2025, 12, 1, tzinfo=UTC), END

# The plain aggregation behind each tool, per backend ({month}: the month of created_at).
_MONTH = {"sqlite": "substr(created_at, 1, 7)", "postgresql": "date_trunc('month', created_at)"}
_DAY = {"sqlite": "substr(created_at, 1, 10)", "postgresql": "date_trunc('day', created_at)"}
PLAIN: dict[str, list[str]] = {
    "get_revenue_summary": [
        "SELECT currency, {month}, sum(amount_received), count(*), sum(fee) FROM payments "
        "WHERE amount_received > 0 AND created_at >= :t0 AND created_at < :t1 GROUP BY 1, 2",
        "SELECT currency, {month}, sum(amount), count(*) FROM refunds WHERE status IN ('pending', 'succeeded') "
        "AND created_at >= :t0 AND created_at < :t1 GROUP BY 1, 2",
        "SELECT e.currency, {t_month}, sum(e.amount), count(*) FROM journal_transactions t "
        "JOIN entries e ON e.transaction_id = t.id JOIN accounts a ON a.id = e.account_id "
        "WHERE t.kind = 'dispute' AND a.type = 'disputes' AND e.amount > 0 AND t.created_at >= :t0 "
        "AND t.created_at < :t1 GROUP BY 1, 2",
    ],
    "get_payment_success_rates": [
        "SELECT p.card_brand, p.currency, a.outcome, a.decline_code, count(*) FROM payment_attempts a "
        "JOIN payments p ON p.id = a.payment_id WHERE a.created_at >= :t0 AND a.created_at < :t1 "
        "AND a.action IN ('authorize', 'confirm') GROUP BY 1, 2, 3, 4",
        "SELECT currency, count(*), sum(amount_received), sum(CASE WHEN amount_refunded > 0 THEN 1 ELSE 0 END), "
        "sum(amount_refunded), sum(CASE WHEN disputed THEN 1 ELSE 0 END) FROM payments "
        "WHERE amount_received > 0 AND created_at >= :t0 AND created_at < :t1 GROUP BY 1",
    ],
    "get_customer_insights": [
        "SELECT customer_id, currency, sum(CASE WHEN disputed THEN 0 ELSE amount_received - amount_refunded END) n, "
        "count(*) FROM payments WHERE amount_received > 0 AND customer_id IS NOT NULL AND created_at >= :t0 "
        "AND created_at < :t1 GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 10",
        "SELECT f.m, {p_month}, count(DISTINCT p.customer_id) FROM payments p JOIN (SELECT customer_id, "
        "{first_month} m FROM payments WHERE amount_received > 0 AND customer_id IS NOT NULL GROUP BY customer_id) f "
        "ON f.customer_id = p.customer_id WHERE p.amount_received > 0 AND p.created_at >= :t0 "
        "AND p.created_at < :t1 GROUP BY 1, 2",
    ],
    # MRR at both ends per subscription, then the movements between them (new, expansion, contraction, churn,
    # reactivation) and the counts; trials converted in the range.
    "get_subscription_metrics": [
        'SELECT currency, "interval", interval_count, sum(m0), sum(m1), '
        "sum(CASE WHEN m0 = 0 AND m1 > 0 AND b = 0 THEN m1 ELSE 0 END), "
        "sum(CASE WHEN m0 > 0 AND m1 > m0 THEN m1 - m0 ELSE 0 END), "
        "sum(CASE WHEN m0 > 0 AND m1 > 0 AND m1 < m0 THEN m0 - m1 ELSE 0 END), "
        "sum(CASE WHEN m0 > 0 AND m1 = 0 THEN m0 ELSE 0 END), "
        "sum(CASE WHEN m0 = 0 AND m1 > 0 AND b > 0 THEN m1 ELSE 0 END), "
        "sum(CASE WHEN m0 > 0 THEN 1 ELSE 0 END), sum(CASE WHEN m1 > 0 THEN 1 ELSE 0 END) FROM ("
        'SELECT s.id, pl.currency, pl."interval", pl.interval_count, '
        "sum(CASE WHEN i.period_start <= :t0 AND i.period_end > :t0 "
        "AND (s.canceled_at IS NULL OR s.canceled_at > :t0) THEN l.amount ELSE 0 END) m0, "
        "sum(CASE WHEN i.period_start < :t1 AND i.period_end >= :t1 "
        "AND (s.canceled_at IS NULL OR s.canceled_at >= :t1) THEN l.amount ELSE 0 END) m1, "
        "sum(CASE WHEN i.period_start < :t0 AND l.amount > 0 THEN 1 ELSE 0 END) b "
        "FROM subscriptions s JOIN plans pl ON pl.id = s.plan_id "
        "JOIN invoices i ON i.subscription_id = s.id JOIN invoice_lines l ON l.invoice_id = i.id "
        "WHERE i.status = 'paid' AND l.kind = 'plan' AND i.period_start < :t1 GROUP BY 1, 2, 3, 4) per "
        "GROUP BY 1, 2, 3",
        "SELECT count(*), sum(CASE WHEN EXISTS (SELECT 1 FROM invoices i WHERE i.subscription_id = s.id "
        "AND i.status = 'paid' AND i.period_index >= 0 AND i.total > 0) THEN 1 ELSE 0 END) FROM subscriptions s "
        "WHERE s.trial_end >= :t0 AND s.trial_end < :t1",
    ],
    "forecast_revenue": [
        "SELECT {day}, sum(amount_received), sum(fee) FROM payments WHERE amount_received > 0 AND currency = 'USD' "
        "AND created_at >= :t0 AND created_at < :t1 GROUP BY 1",
    ],
}
# get_customer_insights' ranges, each a different path: the totals less nothing, edges of a time zone's months,
# a currency, one month's rollups, half the history's rollups, arbitrary days (long edges).
INSIGHT_RANGES: dict[str, dict[str, Any]] = {
    "12 months, UTC": {"start_date": "2025-12-01", "end_date": "2026-11-30"},
    "12 months, America/New_York": {
        "start_date": "2025-12-01",
        "end_date": "2026-11-30",
        "time_zone": "America/New_York",
    },
    "12 months, EUR": {"start_date": "2025-12-01", "end_date": "2026-11-30", "currency": "EUR"},
    "one month": {"start_date": "2026-11-01", "end_date": "2026-11-30"},
    "half the history": {"start_date": "2026-06-01", "end_date": "2026-11-30"},
    "arbitrary days": {"start_date": "2026-03-10", "end_date": "2026-11-30"},
}
ARGS: dict[str, dict[str, Any]] = {
    "get_revenue_summary": {"granularity": "month"},
    "get_payment_success_rates": {},
    "get_customer_insights": {},
    "get_subscription_metrics": {},
    "forecast_revenue": {"granularity": "day", "currency": "USD", "horizon": 14},
}


def sql_for(backend: str, text: str) -> tuple[str, list[datetime]]:
    """The statement in the driver's parameter style, and its parameters."""
    month, day = _MONTH[backend], _DAY[backend]
    text = text.format(
        month=month,
        day=day,
        t_month=month.replace("created_at", "t.created_at"),
        p_month=month.replace("created_at", "p.created_at"),
        first_month=month.replace("created_at", "min(created_at)"),
    )
    names = [n for n in (":t0", ":t1") if n in text]
    values = {":t0": T0, ":t1": T1}
    if backend == "sqlite":
        order = sorted((i, n) for n in names for i in _positions(text, n))
        for n in names:
            text = text.replace(n, "?")
        return text, [values[n] for _, n in order]
    for i, n in enumerate(names, 1):
        text = text.replace(n, f"${i}")
    return text, [values[n] for n in names]


def _positions(text: str, name: str) -> list[int]:
    found, at = [], text.find(name)
    while at >= 0:
        found.append(at)
        at = text.find(name, at + 1)
    return found


class Plain:
    """The plain queries on a connection of their own."""

    def __init__(self, made: Throwaway) -> None:
        self.made = made
        self.sqlite: sqlite3.Connection | None = None
        self.pg: asyncpg.Connection | None = None

    async def open(self) -> None:
        if self.made.backend == "sqlite":
            self.sqlite = sqlite3.connect(str(self.made.path))
        else:
            self.pg = await asyncpg.connect(self.made.url.replace("postgresql+asyncpg", "postgresql"))

    async def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        if self.pg is not None:
            await self.pg.close()

    async def count_payments(self) -> int:
        if self.sqlite is not None:
            return int(self.sqlite.execute("SELECT count(*) FROM payments").fetchone()[0])
        assert self.pg is not None
        return int(await self.pg.fetchval("SELECT count(*) FROM payments"))

    async def run(self, statements: list[str]) -> None:
        for text in statements:
            sql, params = sql_for(self.made.backend, text)
            if self.sqlite is not None:
                self.sqlite.execute(sql, [t.strftime("%Y-%m-%d %H:%M:%S.%f") for t in params]).fetchall()
            else:
                assert self.pg is not None
                await self.pg.fetch(sql, *params)


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


Measured = tuple[list[list[str]], dict[str, float], dict[str, float], float]


async def measure(made: Throwaway, size: int, rounds: int, generate: bool = True) -> Measured:
    settings = bench_settings(made.url)
    key, _ = load_secrets(settings)
    spec = DemoSpec(size, 1, 12, END)
    async with application(settings) as (server, _box, services):
        db = services.uow.db  # type: ignore[attr-defined]
        seconds = (await write_history(db.admin, spec, key, append=False)).seconds if generate else 0.0
        plain = Plain(made)
        await plain.open()
        rows: list[list[str]] = []
        pages: dict[str, float] = {}
        ranges: dict[str, float] = {}
        try:
            async with Client(server) as client:

                async def call(tool: str, **arguments: Any) -> dict[str, Any]:
                    result = await client.call_tool(tool, arguments)
                    assert not result.is_error, (tool, result.content)
                    return dict(result.structured_content or {})

                for tool, statements in PLAIN.items():
                    args = {"start_date": FIRST.isoformat(), "end_date": LAST.isoformat(), **ARGS[tool]}
                    await call(tool, **args)  # warm: plans cached, pages read once
                    tool_ms, plain_ms = [], []
                    for _ in range(rounds):
                        tool_ms.append(await timed(lambda tool=tool, args=args: call(tool, **args)))
                        plain_ms.append(await timed(lambda statements=statements: plain.run(statements)))
                    t, p = statistics.median(tool_ms), statistics.median(plain_ms)
                    rows.append([tool, f"{t:.1f}", f"{p:.1f}", f"{t / p:.2f}"])
                for name, args in INSIGHT_RANGES.items():
                    ranges[name] = await median_ms(lambda args=args: call("get_customer_insights", **args), rounds)
                pages = await paging(call, rounds * 4)  # cheap calls: more rounds, a steadier median
        finally:
            await plain.close()
    return rows, ranges, pages, seconds


async def paging(call: Callable[..., Awaitable[dict[str, Any]]], rounds: int) -> dict[str, float]:
    """Median ms of each paging call: filters on list_payments, and a busy wallet's statement."""
    top = await call("get_customer_insights", start_date=FIRST.isoformat(), end_date=LAST.isoformat(), top=1)
    customer = top["top_customers"][0]["customer_id"]
    wallets = await call("list_wallets", limit=100)
    wallet = wallets["wallets"][0]["id"]
    month = {"created_from": (END - timedelta(days=30)).isoformat(), "created_to": END.isoformat()}
    probes: dict[str, dict[str, Any]] = {
        "list_payments status=succeeded": {"status": "succeeded"},
        "list_payments customer_id": {"customer_id": customer},
        "list_payments last 30 days": month,
        "list_payments declined, last 30 days": {"status": "requires_payment_method", **month},
    }
    out: dict[str, float] = {}
    for name, args in probes.items():
        out[f"{name}, page 1"] = await median_ms(lambda args=args: call("list_payments", limit=20, **args), rounds)
        cursor = await nth_cursor(call, "list_payments", args, 5)
        deep = {**args, "cursor": cursor}
        out[f"{name}, page 6"] = await median_ms(lambda deep=deep: call("list_payments", limit=20, **deep), rounds)
    statement = {"wallet_id": wallet}
    out["get_wallet_statement, page 1"] = await median_ms(
        lambda: call("get_wallet_statement", limit=20, **statement), rounds
    )
    cursor = await nth_cursor(call, "get_wallet_statement", statement, 5)
    out["get_wallet_statement, page 6"] = await median_ms(
        lambda: call("get_wallet_statement", limit=20, cursor=cursor, **statement), rounds
    )
    return out


async def nth_cursor(call: Callable[..., Awaitable[dict[str, Any]]], tool: str, args: dict[str, Any], n: int) -> Any:
    cursor = None
    for _ in range(n):
        page = await call(tool, limit=20, **args, **({"cursor": cursor} if cursor else {}))
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    return cursor


async def median_ms(call: Callable[[], Awaitable[Any]], rounds: int) -> float:
    await call()
    return statistics.median([await timed(call) for _ in range(rounds)])


async def existing(url: str, rounds: int) -> None:
    """Measure the demo history already in the database at `url`."""
    quiet_logging()
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    path = Path(url.split("///", 1)[1]) if backend == "sqlite" else None
    made = Throwaway(backend, url, path=path)
    plain = Plain(made)
    await plain.open()
    try:
        size = await plain.count_payments()
    finally:
        await plain.close()
    rows, ranges, pages, _ = await measure(made, size, rounds, generate=False)
    print(f"\n{backend}, {size:,} payments (an existing database); {machine_note()}")
    print(table(["tool", "tool ms", "plain GROUP BY ms", "ratio"], rows))
    print(table(["get_customer_insights range", "ms"], [[name, f"{ms:.1f}"] for name, ms in ranges.items()]))
    print(table(["paging call", "ms"], [[name, f"{ms:.1f}"] for name, ms in pages.items()]))


async def main(backends: list[str], sizes: list[int], rounds: int) -> None:
    quiet_logging()
    with workdir() as work:
        for backend in backends:
            by_size: dict[int, dict[str, float]] = {}
            for size in sizes:
                async with throwaway_database(backend, f"a{size}", Path(work)) as made:
                    rows, ranges, pages, seconds = await measure(made, size, rounds)
                print(f"\n{backend}, {size:,} payments (generated and written in {seconds:.1f} s); {machine_note()}")
                print(table(["tool", "tool ms", "plain GROUP BY ms", "ratio"], rows))
                print(table(["get_customer_insights range", "ms"], [[n, f"{ms:.1f}"] for n, ms in ranges.items()]))
                by_size[size] = pages
            print(f"\n{backend}: paging at each size against {sizes[0]:,} payments")
            print(by_size_table("paging call", by_size, sizes))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated payment counts, smallest first")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", help="measure the demo history already in this database (SQLAlchemy URL)")
    a = parser.parse_args()
    if a.db:
        runtime.run(existing, a.db, a.rounds)
        raise SystemExit(0)
    chosen = ["sqlite", "postgresql"] if a.backend == "both" else [a.backend]
    runtime.run(main, chosen, [int(s.replace("_", "")) for s in a.sizes.split(",")], a.rounds)
