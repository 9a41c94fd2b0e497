"""Analytics in SQL: each method is one GROUP BY and returns only its groups.

Revenue, refunds, disputes, payment outcomes and authorization attempts are read from the rollups (migration 0024,
rollups.py): the compacted sums of the aligned pieces of each bucket plus the deltas not compacted yet, in one
statement, so one snapshot (a compaction that commits meanwhile moves sums, it never shows them twice). They equal
the base-table queries (`use_rollups = False`, and any range not on quarter hours), which the tests compare.

Customer insights stay on the payments: no per-bucket sum answers "which customers", and a per-customer rollup
would hold about a row per payment. They are made in as few passes as possible instead: top customers and the
per-currency totals from one grouping by customer, cohorts from another (months paid in as a bit mask), and "paid
before the range" by one index probe per customer, never by grouping the whole history (`use_rollups = False`
keeps the earlier queries, which the tests compare with).

Time buckets come in as a VALUES list of UTC boundaries (domain/periods.py computed them in the caller's time
zone), joined by range: both databases then read each bucket's rows through the created_at indexes, and neither
needs to know a time zone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    Table,
    and_,
    case,
    cast,
    column,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
    values,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import CTE

from mcp_payments.adapters.db import rollups
from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.tables import (
    UTCDateTime,
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
    CohortCell,
    CurrencyNet,
    CustomerCounts,
    CustomerNet,
    MrrGroup,
    PaymentOutcomes,
    Sums,
    Trials,
    Window,
)

_CAPTURED = payments.c.amount_received > 0
# What a payment's customer paid and kept: a dispute took back all that was not refunded.
_NET = case((payments.c.disputed, literal(0)), else_=payments.c.amount_received - payments.c.amount_refunded)


def buckets_cte(buckets: Sequence[Bucket], name: str = "b") -> CTE:
    rows = [(i, b.start, b.end) for i, b in enumerate(buckets)]
    table = values(column("i", Integer), column("s", UTCDateTime), column("e", UTCDateTime), name=name)
    return table.data(rows).cte(name)


def _in(created_at: Any, cte: CTE) -> ColumnElement[bool]:
    return and_(created_at >= cte.c.s, created_at < cte.c.e)


def _within(created_at: Any, window: Window) -> list[ColumnElement[bool]]:
    return [created_at >= window.start, created_at < window.end]


def _currency(col: Any, currency: str | None) -> list[ColumnElement[bool]]:
    return [] if currency is None else [col == currency]


def _int(value: Any) -> int:
    return int(value or 0)  # PostgreSQL sums BIGINT into NUMERIC


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
        where += _currency(table.c.currency, currency)
        if pg:
            # OFFSET 0 keeps the planner from flattening the subquery back into a join.
            inner = select(*(table.c[n] for n in names)).where(*where).offset(0).lateral()
            parts.append(select(p.c.i, *(inner.c[n] for n in names)).select_from(p.join(inner, literal(True))))
        else:
            parts.append(select(p.c.i, *(table.c[n] for n in names)).select_from(p.join(table, and_(*where))))
    return union_all(*parts).subquery()


class SqlAnalytics:
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
        return [Sums(r[0], r[1], _int(r[2]), _int(r[3]), _int(r[4])) for r in await self._execute(query)]

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
            if _int(captured) > 0:
                gross.append(Sums(i, code, _int(received), _int(captured), _int(fees)))
            if _int(refunded) > 0:
                refunds.append(Sums(i, code, _int(refunds_amount), _int(refunded)))
            if _int(disputed) > 0:
                disputes.append(Sums(i, code, _int(disputes_amount), _int(disputed)))
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
            .select_from(b.join(payments, _in(payments.c.created_at, b)))
            .where(_CAPTURED, *_currency(payments.c.currency, currency))
            .group_by(b.c.i, payments.c.currency)
        )
        return await self._sums(query)

    async def refunded(self, buckets: Sequence[Bucket], currency: str | None) -> list[Sums]:
        b = buckets_cte(buckets)
        query = (
            select(b.c.i, refunds.c.currency, func.sum(refunds.c.amount), func.count(), literal(0))
            .select_from(b.join(refunds, _in(refunds.c.created_at, b)))
            .where(refunds.c.status.in_(("pending", "succeeded")), *_currency(refunds.c.currency, currency))
            .group_by(b.c.i, refunds.c.currency)
        )
        return await self._sums(query)

    async def disputed(self, buckets: Sequence[Bucket], currency: str | None) -> list[Sums]:
        b = buckets_cte(buckets)
        t = journal_transactions
        query = (
            select(b.c.i, entries.c.currency, func.sum(entries.c.amount), func.count(), literal(0))
            .select_from(
                b.join(t, and_(t.c.kind == "dispute", _in(t.c.created_at, b)))
                .join(entries, entries.c.transaction_id == t.c.id)
                .join(accounts, accounts.c.id == entries.c.account_id)
            )
            .where(
                accounts.c.type == AccountType.DISPUTES.value,
                entries.c.amount > 0,
                *_currency(entries.c.currency, currency),
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
            return [AttemptGroup(r[0], r[1], r[2], r[3] or None, _int(r[4])) for r in await self._execute(rolled)]
        a, p = payment_attempts, payments
        query = (
            select(p.c.card_brand, p.c.currency, a.c.outcome, a.c.decline_code, func.count())
            .select_from(a.join(p, p.c.id == a.c.payment_id))
            .where(
                *_within(a.c.created_at, window),
                a.c.action.in_(("authorize", "confirm")),
                *_currency(p.c.currency, window.currency),
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
                PaymentOutcomes(r[0], _int(r[1]), _int(r[2]), _int(r[3]), _int(r[4]), _int(r[5]))
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
            .where(_CAPTURED, *_within(p.c.created_at, window), *_currency(p.c.currency, window.currency))
            .group_by(p.c.currency)
        )
        return [
            PaymentOutcomes(r[0], _int(r[1]), _int(r[2]), _int(r[3]), _int(r[4]), _int(r[5]))
            for r in await self._execute(query)
        ]

    def _paying(self, window: Window) -> list[ColumnElement[bool]]:
        return [
            _CAPTURED,
            payments.c.customer_id.is_not(None),
            *_within(payments.c.created_at, window),
            *_currency(payments.c.currency, window.currency),
        ]

    async def top_customers(self, window: Window, limit: int) -> list[CustomerNet]:
        p = payments
        per = (
            select(p.c.customer_id, p.c.currency, func.sum(_NET).label("net"), func.count().label("n"))
            .where(*self._paying(window))
            .group_by(p.c.customer_id, p.c.currency)
            .subquery()
        )
        rank = func.row_number().over(partition_by=per.c.currency, order_by=(per.c.net.desc(), per.c.customer_id))
        ranked = select(per, rank.label("rank")).subquery()
        query = select(ranked).where(ranked.c.rank <= limit).order_by(ranked.c.currency, ranked.c.rank)
        return [CustomerNet(r.customer_id, r.currency, _int(r.net), _int(r.n)) for r in await self._execute(query)]

    async def customer_revenue(self, window: Window, limit: int) -> tuple[list[CustomerNet], list[CurrencyNet]]:
        if not (self.pg and self.use_rollups):
            return await self.top_customers(window, limit), await self.customer_net(window)
        return await self._customer_revenue_pg(window, limit)

    async def _customer_revenue_pg(self, window: Window, limit: int) -> tuple[list[CustomerNet], list[CurrencyNet]]:
        """Both from one pass: the per-customer sums are made once (a CTE read twice is materialized); each
        currency keeps its best `limit` by a bounded sort (LATERAL ... LIMIT), not by a window function sorting
        every customer (at a million payments that sort took 1.6 of top_customers' 3.5 s), and the totals count
        the customers of each currency from the same sums."""
        p = payments
        per = (
            select(p.c.customer_id, p.c.currency, func.sum(_NET).label("net"), func.count().label("n"))
            .where(*self._paying(window))
            .group_by(p.c.customer_id, p.c.currency)
            .cte("per")
        )
        totals = (
            select(per.c.currency, func.sum(per.c.net).label("net"), func.count().label("customers"))
            .group_by(per.c.currency)
            .subquery()
        )
        best = (
            select(per.c.customer_id, per.c.currency, per.c.net, per.c.n)
            .where(per.c.currency == totals.c.currency)
            .order_by(per.c.net.desc(), per.c.customer_id)
            .limit(limit)
            .lateral()
        )
        query = (
            select(totals.c.currency, totals.c.net, totals.c.customers, best.c.customer_id, best.c.net, best.c.n)
            .select_from(totals.outerjoin(best, literal(True)))
            .order_by(totals.c.currency, best.c.net.desc(), best.c.customer_id)
        )
        top: list[CustomerNet] = []
        nets: dict[str, CurrencyNet] = {}
        for code, net, customers, customer_id, customer_net, n in await self._execute(query):
            nets[code] = CurrencyNet(code, _int(net), _int(customers))
            if customer_id is not None:
                top.append(CustomerNet(customer_id, code, _int(customer_net), _int(n)))
        return top, list(nets.values())

    async def customer_net(self, window: Window) -> list[CurrencyNet]:
        p = payments
        if not self.use_rollups:
            query = (
                select(p.c.currency, func.sum(_NET), func.count(distinct(p.c.customer_id)))
                .where(*self._paying(window))
                .group_by(p.c.currency)
            )
            return [CurrencyNet(r[0], _int(r[1]), _int(r[2])) for r in await self._execute(query)]
        # Customers counted by grouping (hashed) rather than count(DISTINCT ...) (a sort of every payment).
        per = (
            select(p.c.currency, func.sum(_NET).label("net"))
            .where(*self._paying(window))
            .group_by(p.c.currency, p.c.customer_id)
            .subquery()
        )
        query = select(per.c.currency, func.sum(per.c.net), func.count()).group_by(per.c.currency)
        return [CurrencyNet(r[0], _int(r[1]), _int(r[2])) for r in await self._execute(query)]

    @staticmethod
    def _paid_before(customer: Any, instant: Any) -> Any:
        """Whether the customer had a payment that captured money (any currency) before the instant: one probe of
        the partial index on captured payments (customer_id, created_at), no scan of the history."""
        q = payments.alias("earlier")
        return exists().where(q.c.customer_id == customer, q.c.amount_received > 0, q.c.created_at < instant)

    async def customer_counts(self, window: Window) -> CustomerCounts:
        if not self.use_rollups:
            return await self._customer_counts_base(window)
        active = select(payments.c.customer_id).where(*self._paying(window)).distinct().subquery()
        is_new = ~self._paid_before(active.c.customer_id, window.start)
        query = select(
            func.count(),
            func.sum(case((is_new, 1), else_=0)),
            func.sum(case((is_new, 0), else_=1)),
        ).select_from(active)
        row = (await self._execute(query)).one()
        return CustomerCounts(_int(row[0]), _int(row[1]), _int(row[2]))

    async def cohorts(self, months: Sequence[Bucket], currency: str | None) -> list[CohortCell]:
        """Customers whose first captured payment (any currency) falls in the months, by that month and each month
        they paid in (in `currency`, or any). One pass over the range grouped by customer: the first payment of a
        customer who had none before the range (one probe of a partial index) is their first in it, and the months
        they paid in are the bits of a mask (a month is found by comparing with the few month boundaries); the
        database returns the customers per (cohort, mask), which are few, and the bits are counted here."""
        if not self.use_rollups:
            return await self._cohorts_base(months, currency)
        p = payments
        window = Window(months[0].start, months[-1].end, None)

        def month_of(at: Any) -> Any:
            if len(months) == 1:
                return literal(0)
            return case(*((at < b.end, i) for i, b in enumerate(months[:-1])), else_=len(months) - 1)

        bit = cast(literal(1), BigInteger).op("<<")(month_of(p.c.created_at))  # months <= 61 (a 5-year range)
        in_currency = p.c.currency == currency if currency is not None else literal(True)
        per = (
            select(
                p.c.customer_id,
                month_of(func.min(p.c.created_at)).label("cohort"),
                func.sum(distinct(case((in_currency, bit), else_=0))).label("mask"),
            )
            .where(*self._paying(window))
            .group_by(p.c.customer_id)
            .subquery()
        )
        newcomers = (
            select(per.c.cohort, per.c.mask, func.count())
            .where(~self._paid_before(per.c.customer_id, window.start), per.c.mask > 0)
            .group_by(per.c.cohort, per.c.mask)
        )
        cells: dict[tuple[int, int], int] = defaultdict(int)
        for cohort, mask, n in await self._execute(newcomers):
            bits = int(mask)
            for m in range(len(months)):
                if bits >> m & 1:
                    cells[(int(cohort), m)] += int(n)
        return [CohortCell(c, m, n) for (c, m), n in sorted(cells.items())]

    @staticmethod
    def _first_payments() -> Any:
        """Each customer's first payment that captured money, in any currency (the base-table path: the whole
        history grouped by customer)."""
        p = payments
        return (
            select(p.c.customer_id, func.min(p.c.created_at).label("first_at"))
            .where(_CAPTURED, p.c.customer_id.is_not(None))
            .group_by(p.c.customer_id)
            .subquery()
        )

    async def _customer_counts_base(self, window: Window) -> CustomerCounts:
        first = self._first_payments()
        active = select(payments.c.customer_id).where(*self._paying(window)).distinct().subquery()
        is_new = first.c.first_at >= window.start
        query = select(
            func.count(),
            func.sum(case((is_new, 1), else_=0)),
            func.sum(case((is_new, 0), else_=1)),
        ).select_from(active.join(first, first.c.customer_id == active.c.customer_id))
        row = (await self._execute(query)).one()
        return CustomerCounts(_int(row[0]), _int(row[1]), _int(row[2]))

    async def _cohorts_base(self, months: Sequence[Bucket], currency: str | None) -> list[CohortCell]:
        first = self._first_payments()
        paid, cohort = buckets_cte(months, "paid_in"), buckets_cte(months, "cohort")
        p = payments
        query = (
            select(cohort.c.i, paid.c.i, func.count(distinct(p.c.customer_id)))
            .select_from(
                paid.join(p, _in(p.c.created_at, paid))
                .join(first, first.c.customer_id == p.c.customer_id)
                .join(cohort, _in(first.c.first_at, cohort))
            )
            .where(_CAPTURED, *_currency(p.c.currency, currency))
            .group_by(cohort.c.i, paid.c.i)
        )
        return [CohortCell(r[0], r[1], int(r[2])) for r in await self._execute(query)]

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
                *_currency(plans.c.currency, window.currency),
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
        return [MrrGroup(r[0], r[1], r[2], *(_int(v) for v in r[3:])) for r in await self._execute(query)]

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
            .where(*_within(s.c.trial_end, window), *_currency(plans.c.currency, window.currency))
        )
        row = (await self._execute(query)).one()
        return Trials(_int(row[0]), _int(row[1]))
