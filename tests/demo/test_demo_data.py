"""`mcp-payments demo-data`: a seeded history written in bulk that the ledger check, the audit chain and the
analytics tools accept as if it had been made call by call."""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from mcp_payments import demo_cli
from mcp_payments.adapters.db.tables import audit_log, journal_transactions, payments, refunds
from mcp_payments.bootstrap import StartupError
from mcp_payments.config import Settings
from mcp_payments.services.demo.history import DemoHistory
from mcp_payments.services.demo.spec import DemoSpec
from tests.conftest import TEST_SECRETS, Stack
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio

END = datetime(2026, 6, 1, tzinfo=UTC)
SPEC = DemoSpec(payments=1_500, seed=7, months=4, end=END)
KEY = TEST_SECRETS["secret_key"].encode()
GENESIS = (0, "0" * 64)


async def write(stack: Stack, spec: DemoSpec = SPEC, *, append: bool = False) -> demo_cli.Written:
    assert stack.clock is not None
    stack.clock.current = spec.end
    db = stack.services.uow.db  # type: ignore[attr-defined]
    return await demo_cli.write_history(db.admin, spec, KEY, append=append)


def generated(spec: DemoSpec) -> tuple[dict[str, list[dict[str, Any]]], tuple[int, str]]:
    """The history made in memory, without a database: every row, with its final values."""
    history = DemoHistory(spec, GENESIS, KEY)
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for batch in history.batches():
        for table, made in batch.rows.items():
            for i, row in enumerate(made):
                rows.setdefault(table, {})[str(row.get("id", f"{len(rows.get(table, {}))}-{i}"))] = row
    return {table: list(by_id.values()) for table, by_id in rows.items()}, history.head


async def count(stack: Stack, query: Any) -> Any:
    async with stack.services.uow.db.reader.connect() as conn:  # type: ignore[attr-defined]
        return (await conn.execute(query)).scalar_one()


async def test_a_demo_history_passes_the_ledger_check_and_verifies_from_genesis(
    agent: Agent, clocked_stack: Stack
) -> None:
    written = await write(clocked_stack)
    assert written.payments == SPEC.payments
    assert await count(clocked_stack, select(func.count()).select_from(payments)) == SPEC.payments

    ledger = await agent.ok("check_ledger_integrity")
    chain = await agent.ok("verify_audit_chain")

    assert ledger["ok"], ledger["problems"]
    assert ledger["transactions"] > SPEC.payments / 2
    assert chain["valid"] is True
    assert chain["records_checked"] == written.audit_records
    assert chain["unsealed_records"] == 0


async def test_the_same_seed_gives_the_same_history_and_the_database_holds_exactly_it(
    agent: Agent, clocked_stack: Stack
) -> None:
    rows, head = generated(SPEC)
    again, head_again = generated(SPEC)
    _, other_head = generated(DemoSpec(SPEC.payments, SPEC.seed + 1, SPEC.months, SPEC.end))
    assert head == head_again
    assert rows == again
    assert other_head != head

    await write(clocked_stack)
    report = await agent.ok("get_revenue_summary", start_date="2026-01-01", end_date="2026-05-31", granularity="month")

    captured = Counter[str]()
    for p in rows["payments"]:
        captured[p["currency"]] += p["amount_received"]
    by_currency = {c["currency"]: c["total"] for c in report["currencies"]}
    jpy = by_currency.pop("JPY")
    assert int(jpy["gross"]) == captured["JPY"]
    assert {c: total["gross"].replace(".", "") for c, total in by_currency.items()} == {
        c: str(captured[c]) for c in by_currency
    }
    async with clocked_stack.services.uow.db.reader.connect() as conn:  # type: ignore[attr-defined]
        (last_hash,) = (await conn.execute(select(audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1))).one()
    assert last_hash == head[1]


def test_the_history_holds_the_test_card_mix_wallets_and_subscriptions() -> None:
    spec = DemoSpec(payments=20_000, seed=7, months=12, end=END)  # the default size: enough subscriptions to churn
    rows, _ = generated(spec)
    statuses = Counter(p["status"] for p in rows["payments"])
    declines = Counter(p["decline_code"] for p in rows["payments"] if p["decline_code"])
    kinds = Counter(t["kind"] for t in rows["journal_transactions"])
    tools = Counter(r["tool"] for r in rows["audit_log"])
    subscriptions = Counter(s["status"] for s in rows["subscriptions"])

    assert statuses["succeeded"] > 0.75 * spec.payments
    assert statuses["requires_payment_method"] > 0.05 * spec.payments
    assert statuses["canceled"] > 0  # 3-D Secure never completed: expired a day later
    assert {"card_declined", "insufficient_funds", "expired_card"} <= set(declines)
    assert {"payment_capture", "refund", "dispute", "refund_reversal", "fund", "transfer", "withdrawal"} <= set(kinds)
    assert {"confirm_payment", "renew_subscriptions", "change_subscription_plan", "cancel_subscription"} <= set(tools)
    assert {"active", "canceled"} <= set(subscriptions)
    assert any(r["status"] == "failed" for r in rows["refunds"])
    assert any(p["disputed"] for p in rows["payments"])
    assert all(len(p["card_last4"]) == 4 for p in rows["payments"])  # no card number is kept, only last4
    times = [r["at"] for r in rows["audit_log"]]
    assert min(times) >= spec.start - timedelta(minutes=10)  # a first customer is created before its payment
    assert max(times) < spec.end


async def test_every_analytics_tool_answers_on_a_demo_history(agent: Agent, clocked_stack: Stack) -> None:
    await write(clocked_stack)
    window = {"start_date": "2026-02-01", "end_date": "2026-05-31"}

    revenue = await agent.ok("get_revenue_summary", **window, granularity="week", currency="USD")
    rates = await agent.ok("get_payment_success_rates", **window)
    insights = await agent.ok("get_customer_insights", **window, currency="USD")
    metrics = await agent.ok("get_subscription_metrics", **window, currency="USD")
    forecast = await agent.ok("forecast_revenue", **window, granularity="day", currency="USD", horizon=14)

    [usd] = revenue["currencies"]
    assert usd["total"]["payments"] > 0
    assert usd["total"]["refund_count"] > 0
    assert usd["total"]["dispute_count"] > 0
    assert 0.85 < float(rates["overall"]["authorization_rate"]) < 0.95
    assert rates["challenges"] > 0
    assert {"card_declined", "insufficient_funds"} <= {d["code"] for d in rates["top_decline_codes"]}
    assert insights["paying_customers"] > 0
    assert insights["top_customers"]
    assert insights["cohorts"]
    [mrr] = metrics["currencies"]
    assert mrr["identity_holds"] is True
    assert float(mrr["mrr_end"]) > 0
    assert len(forecast["forecast"]) == 14


async def test_a_database_that_holds_data_is_refused_unless_appended_to(agent: Agent, clocked_stack: Stack) -> None:
    small = DemoSpec(200, 1, 2, END)
    await write(clocked_stack, small)
    before = await count(clocked_stack, select(func.count()).select_from(journal_transactions))

    with pytest.raises(demo_cli.DatabaseHoldsData, match="--append"):
        await write(clocked_stack, small)
    assert await count(clocked_stack, select(func.count()).select_from(journal_transactions)) == before

    await write(clocked_stack, DemoSpec(200, 2, 2, END), append=True)
    assert await count(clocked_stack, select(func.count()).select_from(payments)) == 400
    assert await count(clocked_stack, select(func.count()).select_from(refunds)) > 0
    assert (await agent.ok("verify_audit_chain"))["valid"] is True


async def test_the_command_prints_its_progress_and_refuses_a_second_run(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(db_url=db_url, background=False, **TEST_SECRETS)
    args = argparse.Namespace(payments=300, seed=3, months=2, end=END, append=False)
    await demo_cli.run(settings, args)
    out = capsys.readouterr()
    assert "wrote 300 payments" in out.out
    assert "100% 300/300 payments" in out.err
    with pytest.raises(StartupError, match=r"already holds data .*pass --append"):
        await demo_cli.run(settings, args)


@pytest.mark.parametrize(
    ("payments", "months", "end", "problem"),
    [
        (0, 12, END, "payments must be between 1 and"),
        (5_000_001, 12, END, "payments must be between 1 and"),
        (10, 0, END, "months must be between 1 and 60"),
        (10, 61, END, "months must be between 1 and 60"),
        (10, 12, datetime(2026, 6, 1), "aware"),
    ],
)
def test_a_spec_out_of_range_is_refused_with_what_is_allowed(
    payments: int, months: int, end: datetime, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        DemoSpec(payments, 1, months, end)
