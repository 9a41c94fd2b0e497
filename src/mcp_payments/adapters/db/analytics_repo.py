"""Analytics in SQL: each method is one GROUP BY and returns only its groups.

Revenue, refunds, disputes, payment outcomes and authorization attempts are read from the rollups (migration 0024,
rollups.py): the compacted sums of the aligned pieces of each bucket plus the deltas not compacted yet, in one
statement, so one snapshot (a compaction that commits meanwhile moves sums, it never shows them twice). They equal
the base-table queries (`use_rollups = False`, and any range not on quarter hours), which the tests compare.

Customer insights (top customers, new and returning, cohorts) have rollups of their own, per customer and UTC month:
customer_insights.py, which SqlAnalytics inherits.

Time buckets come in as a VALUES list of UTC boundaries (domain/periods.py computed them in the caller's time
zone), joined by range: both databases then read each bucket's rows through the created_at indexes, and neither
needs to know a time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db import rollups
from mcp_payments.adapters.db.analytics_sql import CAPTURED, as_int, buckets_cte, currency_is, in_bucket
from mcp_payments.adapters.db.customer_insights import CustomerInsights
from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.tables import (
    accounts,
    analytics_attempt_deltas,
    analytics_attempt_rollups,
    analytics_revenue_deltas,
    analytics_revenue_rollups,
    entries,
    invoice_lines,
    invoices,
    journal_transactions,
    payment_attempts,
    payments,
    plans,
    refunds,
    subscriptions,
)
from mcp_payments.domain.ledger import AccountType
from mcp_payments.domain.periods import Bucket
from mcp_payments.services.analytics.ports import (
    AttemptGroup,
    MrrGroup,
    PaymentOutcomes,
    Sums,
    Trials,
    Window,
)


def _within(created_at: Any, window: Window) -> list[ColumnElement[bool]]:
    return [created_at >= window.start, created_at < window.end]


def _rolled(
    found: Sequence[rollups.Piece],
    compacted: Table,
    deltas: Table,
    names: Sequence[str],
    currency: str | None,
    pg: bool,
) -> Any:
    """The columns `names` (and the piece's bucket index, `i`) of the compacted rows in the pieces, then of the
    deltas in them: a subquery to sum. PostgreSQL reads each piece by an index range scan (LATERAL: without it,
    it hashes the pieces on their size and filters every rollup row against them); SQLite joins that way anyway."""
    p = rollups.pieces_cte(found)
    r, d = compacted, deltas
    parts = []
    for table, size_of, start_of in ((r, r.c.size == p.c.size, r.c.bucket), (d, None, d.c.at)):
        where = [start_of >= p.c.s, start_of < p.c.e, *([size_of] if size_of is not None else [])]
        where += currency_is(table.c.currency, currency)
        if pg:
            # OFFSET 0 keeps the planner from flattening the subquery back into a join.
            inner = select(*(table.c[n] for n in names)).where(*where).offset(0).lateral()
            parts.append(select(p.c.i, *(inner.c[n] for n in names)).select_from(p.join(inner, literal(True))))
        else:
            parts.append(select(p.c.i, *(table.c[n] for n in names)).select_from(p.join(table, and_(*where))))
    return union_all(*parts).subquery()


class SqlAnalytics(CustomerInsights):
    # False: every figure from the base tables, customer insights by grouping the whole history (the tests compare
    # the two paths).
    use_rollups = True

    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"
        self._jit_off = not self.pg

    async def _execute(self, query: Any) -> Any:
        if not self._jit_off:
            # For this transaction only: PostgreSQL's JIT compiles these aggregations once their estimated cost is
            # high, which costs more than it saves here (0.1 to 0.5 s a query, measured at 100,000 payments); and
            # grouping a million payments by customer spilled to disk within the default 4 MB of work_mem.
            await self.conn.execute(
                select(func.set_config("jit", "off", True), func.set_config("work_mem", "64MB", True))
            )
            self._jit_off = True
        return await self.conn.execute(query)

    def _pieces(self, buckets: Sequence[Bucket]) -> list[rollups.Piece] | None:
        return rollups.pieces(buckets) if self.use_rollups else None

    def _window_pieces(self, window: Window) -> list[rollups.Piece] | None:
        return self._pieces([Bucket("window", window.start, window.end)])

    async def pending_rollup_deltas(self) -> int:
        return await rollups.pending(self.conn)

    async def compact_rollups(self) -> bool:
        return await rollups.compact(self.conn)

    async def _sums(self, query: Select[Any]) -> list[Sums]:
        return [Sums(r[0], r[1], as_int(r[2]), as_int(r[3]), as_int(r[4])) for r in await self._execute(query)]

    async def revenue(
        self, buckets: Sequence[Bucket], currency: str | None
    ) -> tuple[list[Sums], list[Sums], list[Sums]]:
        found = self._pieces(buckets)
        if found is None:
            return (
                await self.captured(buckets, currency),
                await self.refunded(buckets, currency),
                await self.disputed(buckets, currency),
            )
        # All three from the same rollup rows, in one statement.
        names = ["payments_captured", "amount_received", "fees", "refunds", "refunds_amount", "disputes"]
        names.append("disputes_amount")
        u = _rolled(found, analytics_revenue_rollups, analytics_revenue_deltas, ["currency", *names], currency, self.pg)
        query = select(u.c.i, u.c.currency, *(func.sum(u.c[n]) for n in names)).group_by(u.c.i, u.c.currency)
        gross: list[Sums] = []
        refunds: list[Sums] = []
        disputes: list[Sums] = []
        for (
            i,
            code,
            captured,
            received,
            fees,
            refunded,
            refunds_amount,
            disputed,
            disputes_amount,
        ) in await self._execute(query):
            # A group the base tables would not have (its rows all moved out again) is left out.
            if as_int(captured) > 0:
                gross.append(Sums(i, code, as_int(received), as_int(captured), as_int(fees)))
            if as_int(refunded) > 0:
                refunds.append(Sums(i, code, as_int(refunds_amount), as_int(refunded)))
            if as_int(disputed) > 0:
                disputes.append(Sums(i, code, as_int(disputes_amount), as_int(disputed)))
        return gross, refunds, disputes

    async def captured(self, buckets: Sequence[Bucket], currency: str | None) -> list[Sums]:
        b = buckets_cte(buckets)
        query = (
            select(
                b.c.i,
                payments.c.currency,
                func.sum(payments.c.amount_received),
                func.count(),
                func.sum(payments.c.fee),
            )
            .select_from(b.join(payments, in_bucket(payments.c.created_at, b)))
            .where(CAPTURED, *currency_is(payments.c.currency, currency))
            .group_by(b.c.i, payments.c.currency)
        )
        return await self._sums(query)

    async def refunded(self, buckets: Sequence[Bucket], currency: str | None) -> list[Sums]:
        b = buckets_cte(buckets)
        query = (
            select(b.c.i, refunds.c.currency, func.sum(refunds.c.amount), func.count(), literal(0))
            .select_from(b.join(refunds, in_bucket(refunds.c.created_at, b)))
            .where(refunds.c.status.in_(("pending", "succeeded")), *currency_is(refunds.c.currency, currency))
            .group_by(b.c.i, refunds.c.currency)
        )
        return await self._sums(query)

    async def disputed(self, buckets: Sequence[Bucket], currency: str | None) -> list[Sums]:
        b = buckets_cte(buckets)
        t = journal_transactions
        query = (
            select(b.c.i, entries.c.currency, func.sum(entries.c.amount), func.count(), literal(0))
            .select_from(
                b.join(t, and_(t.c.kind == "dispute", in_bucket(t.c.created_at, b)))
                .join(entries, entries.c.transaction_id == t.c.id)
                .join(accounts, accounts.c.id == entries.c.account_id)
            )
            .where(
                accounts.c.type == AccountType.DISPUTES.value,
                entries.c.amount > 0,
                *currency_is(entries.c.currency, currency),
            )
            .group_by(b.c.i, entries.c.currency)
        )
        return await self._sums(query)

    async def attempts(self, window: Window) -> list[AttemptGroup]:
        if (found := self._window_pieces(window)) is not None:
            keys = ["brand", "currency", "outcome", "decline_code"]
            u = _rolled(
                found, analytics_attempt_rollups, analytics_attempt_deltas, [*keys, "n"], window.currency, self.pg
            )
            rolled = (
                select(*(u.c[k] for k in keys), func.sum(u.c.n))
                .group_by(*(u.c[k] for k in keys))
                .having(func.sum(u.c.n) > 0)
            )
            return [AttemptGroup(r[0], r[1], r[2], r[3] or None, as_int(r[4])) for r in await self._execute(rolled)]
        a, p = payment_attempts, payments
        query = (
            select(p.c.card_brand, p.c.currency, a.c.outcome, a.c.decline_code, func.count())
            .select_from(a.join(p, p.c.id == a.c.payment_id))
            .where(
                *_within(a.c.created_at, window),
                a.c.action.in_(("authorize", "confirm")),
                *currency_is(p.c.currency, window.currency),
            )
            .group_by(p.c.card_brand, p.c.currency, a.c.outcome, a.c.decline_code)
        )
        return [AttemptGroup(r[0], r[1], r[2], r[3], int(r[4])) for r in await self._execute(query)]

    async def outcomes(self, window: Window) -> list[PaymentOutcomes]:
        if (found := self._window_pieces(window)) is not None:
            names = ["payments_captured", "amount_received", "payments_refunded", "amount_refunded"]
            u = _rolled(
                found,
                analytics_revenue_rollups,
                analytics_revenue_deltas,
                ["currency", *names, "payments_disputed"],
                window.currency,
                self.pg,
            )
            rolled = (
                select(u.c.currency, *(func.sum(u.c[n]) for n in [*names, "payments_disputed"]))
                .group_by(u.c.currency)
                .having(func.sum(u.c.payments_captured) > 0)
            )
            return [
                PaymentOutcomes(r[0], as_int(r[1]), as_int(r[2]), as_int(r[3]), as_int(r[4]), as_int(r[5]))
                for r in await self._execute(rolled)
            ]
        p = payments
        query = (
            select(
                p.c.currency,
                func.count(),
                func.sum(p.c.amount_received),
                func.sum(case((p.c.amount_refunded > 0, 1), else_=0)),
                func.sum(p.c.amount_refunded),
                func.sum(case((p.c.disputed, 1), else_=0)),
            )
            .where(CAPTURED, *_within(p.c.created_at, window), *currency_is(p.c.currency, window.currency))
            .group_by(p.c.currency)
        )
        return [
            PaymentOutcomes(r[0], as_int(r[1]), as_int(r[2]), as_int(r[3]), as_int(r[4]), as_int(r[5]))
            for r in await self._execute(query)
        ]

    async def mrr(self, window: Window) -> list[MrrGroup]:
        s, i, line = subscriptions, invoices, invoice_lines
        t0, t1 = window.start, window.end
        live_start = and_(
            i.c.period_start <= t0, i.c.period_end > t0, or_(s.c.canceled_at.is_(None), s.c.canceled_at > t0)
        )
        live_end = and_(
            i.c.period_start < t1, i.c.period_end >= t1, or_(s.c.canceled_at.is_(None), s.c.canceled_at >= t1)
        )
        paid_before = and_(i.c.period_start < t0, line.c.amount > 0)
        per = (
            select(
                plans.c.currency,
                plans.c.interval,
                plans.c.interval_count,
                func.sum(case((live_start, line.c.amount), else_=0)).label("m0"),
                func.sum(case((live_end, line.c.amount), else_=0)).label("m1"),
                func.sum(case((paid_before, 1), else_=0)).label("before"),
            )
            .select_from(
                s.join(plans, plans.c.id == s.c.plan_id)
                .join(i, i.c.subscription_id == s.c.id)
                .join(line, line.c.invoice_id == i.c.id)
            )
            .where(
                i.c.status == "paid",
                line.c.kind == "plan",
                i.c.period_start < t1,
                *currency_is(plans.c.currency, window.currency),
            )
            .group_by(s.c.id, plans.c.currency, plans.c.interval, plans.c.interval_count)
            .subquery()
        )
        m0, m1 = per.c.m0, per.c.m1

        def total(condition: ColumnElement[bool], value: Any) -> Any:
            return func.coalesce(func.sum(case((condition, value), else_=0)), 0)

        query = select(
            per.c.currency,
            per.c.interval,
            per.c.interval_count,
            func.sum(m0),
            func.sum(m1),
            total(and_(m0 == 0, m1 > 0, per.c.before == 0), m1),
            total(and_(m0 > 0, m1 > m0), m1 - m0),
            total(and_(m0 > 0, m1 > 0, m1 < m0), m0 - m1),
            total(and_(m0 > 0, m1 == 0), m0),
            total(and_(m0 == 0, m1 > 0, per.c.before > 0), m1),
            total(m0 > 0, 1),
            total(m1 > 0, 1),
            total(and_(m0 > 0, m1 == 0), 1),
        ).group_by(per.c.currency, per.c.interval, per.c.interval_count)
        return [MrrGroup(r[0], r[1], r[2], *(as_int(v) for v in r[3:])) for r in await self._execute(query)]

    async def trials(self, window: Window) -> Trials:
        s = subscriptions
        converted = exists().where(
            invoices.c.subscription_id == s.c.id,
            invoices.c.status == "paid",
            invoices.c.period_index >= 0,
            invoices.c.total > 0,
        )
        query = (
            select(func.count(), func.sum(case((converted, 1), else_=0)))
            .select_from(s.join(plans, plans.c.id == s.c.plan_id))
            .where(*_within(s.c.trial_end, window), *currency_is(plans.c.currency, window.currency))
        )
        row = (await self._execute(query)).one()
        return Trials(as_int(row[0]), as_int(row[1]))
