"""Customer insights in SQL (get_customer_insights): net revenue per customer, the best customers and the totals of
each currency, new and returning customers, cohorts by the month of the first payment.

Read from the customer rollups (migration 0026): per UTC month, customer and currency, the captured payments created
in it and their net, compacted or still a delta, in one statement; and each customer's first payment that captured
money. A range in a time zone seldom falls on UTC months, so each end of a range is moved to the nearest UTC month
start: the months in between come from the rollups, and the stretch between an end and its month start (hours at a
month's end in any time zone; at most half a month for a range of arbitrary days) is added from, or taken away
with, the payments themselves, read through their created_at index. Counts are sums, so taking away is exact: a
customer paid in a range when their count of payments in it is above zero.

The cohorts count most customers by one row each (migration 0027, customer_months.py and cohort_sql.py).

`use_rollups = False` reads everything from the payments, grouping the whole history by customer: the tests compare
the two.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    column,
    distinct,
    func,
    literal,
    select,
    union_all,
    values,
)

from mcp_payments.adapters.db import cohort_sql, customer_best, customer_counts, customer_months
from mcp_payments.adapters.db import customer_totals as from_totals
from mcp_payments.adapters.db.analytics_sql import CAPTURED, NET, as_int, buckets_cte, currency_is, in_bucket
from mcp_payments.adapters.db.cohort_sql import Edge, Months
from mcp_payments.adapters.db.tables import (
    UTCDateTime,
    analytics_customer_deltas,
    analytics_customer_firsts,
    analytics_customer_rollups,
    payments,
)
from mcp_payments.domain.periods import Bucket
from mcp_payments.services.analytics.ports import (
    CohortCell,
    CurrencyNet,
    CustomerCounts,
    CustomerNet,
    CustomerTotals,
    Window,
)

MONTH_LISTS = 3  # a range within this many UTC months walks each month's best customers (customer_best.py)


def nearest_month(at: datetime) -> datetime:
    """The UTC month start nearest to the instant (the earlier one on a tie)."""
    start = customer_months.month_start(at)
    following = customer_months.month_start(start + timedelta(days=32))
    return start if at - start <= following - at else following


def split(buckets: Sequence[Bucket]) -> tuple[list[Months], list[Edge]]:
    """Each bucket as the UTC months between the month starts nearest to its ends, and the stretches between each
    end and its month start: added where the bucket reaches beyond its months, taken away where the months reach
    beyond the bucket."""
    months: list[Months] = []
    edges: list[Edge] = []
    for i, b in enumerate(buckets):
        first, last = nearest_month(b.start), nearest_month(b.end)
        if first < last:
            months.append((i, int(first.timestamp()), int(last.timestamp())))
        else:
            last = first  # no month inside: the whole bucket is its edges (from first to each end)
        if b.start != first:
            edges.append((i, 1 if b.start < first else -1, min(b.start, first), max(b.start, first)))
        if b.end != last:
            edges.append((i, 1 if last < b.end else -1, min(b.end, last), max(b.end, last)))
    return months, edges


@lru_cache(maxsize=64)
def _cohorts_by_rows(months: tuple[Bucket, ...], currency: str | None) -> tuple[dict[int, int], Any]:
    """Each UTC month start of the range to its bucket, and the cohorts' statement from the months rows (None: the
    rows cannot answer). Built once per range and currency: a time zone's year has 24 edges, and building its
    statement cost ~50 ms a call (SQLAlchemy's column collections), more than running its parts' probes."""
    found, edges = split(months)
    buckets = {m: i for i, start, end in found for m in customer_months.month_starts(start, end)}
    if not buckets or len(buckets) >= customer_months.BITS or len(months) > customer_months.BITS:
        return buckets, None
    waiting = cohort_sql.waiting()
    parts = [
        cohort_sql.masks(buckets, currency, None),
        cohort_sql.masks(buckets, currency, waiting),
        cohort_sql.exact(months, found, edges, currency, waiting),
    ]
    if edges:
        parts.append(
            cohort_sql.fix(months, sorted(buckets), cohort_sql.clipped(months, found, edges), currency, waiting)
        )
    return buckets, union_all(*parts)


class CustomerInsights:
    """The customer queries of SqlAnalytics (adapters/db/analytics_repo.py), which provides `_execute`."""

    use_rollups: bool
    pg: bool

    async def _execute(self, query: Any) -> Any:
        raise NotImplementedError

    # -- the rollup path

    def _monthly(self, buckets: Sequence[Bucket], currency: str | None, among: Sequence[str] | None = None) -> Any:
        """(i, customer_id, currency, n, net) rows to sum per bucket `i`: the rollups' and waiting deltas' rows of
        the buckets' months, and the payments of their edges, signed. The months are a branch each, with constant
        bounds: a join to a VALUES list of them hid their sizes from PostgreSQL's planner (it expected a few
        thousand rows of half a million, and sorted them to group); the edges, each a few hours, are a LATERAL
        index range scan of the payments (as analytics_repo._rolled explains). `among`: only these customers."""
        found, edges = split(buckets)
        parts: list[Select[Any]] = []
        for i, start, end in found:
            for t in (analytics_customer_rollups, analytics_customer_deltas):
                where = [t.c.month >= start, t.c.month < end, *currency_is(t.c.currency, currency)]
                if among is not None:
                    where.append(t.c.customer_id.in_(among))
                parts.append(
                    select(
                        literal(i).label("i"), t.c.customer_id, t.c.currency, t.c.payments.label("n"), t.c.net
                    ).where(*where)
                )
        if edges:
            e = (
                values(
                    column("i", Integer),
                    column("sign", Integer),
                    column("s", UTCDateTime),
                    column("e", UTCDateTime),
                    name="edges",
                )
                .data(edges)
                .cte("edges")
            )
            p = payments
            where = [
                CAPTURED,
                p.c.customer_id.is_not(None),
                in_bucket(p.c.created_at, e),
                *currency_is(p.c.currency, currency),
            ]
            if among is not None:
                where.append(p.c.customer_id.in_(among))
            if self.pg:
                edge = select(p.c.customer_id, p.c.currency, NET.label("net")).where(*where).offset(0).lateral()
                parts.append(
                    select(
                        e.c.i,
                        edge.c.customer_id,
                        edge.c.currency,
                        e.c.sign.label("n"),
                        (e.c.sign * edge.c.net).label("net"),
                    ).select_from(e.join(edge, literal(True)))
                )
            else:
                parts.append(
                    select(
                        e.c.i, p.c.customer_id, p.c.currency, e.c.sign.label("n"), (e.c.sign * NET).label("net")
                    ).select_from(e.join(p, and_(*where)))
                )
        if not parts:
            return (
                select(
                    literal(0).label("i"),
                    literal("").label("customer_id"),
                    literal("").label("currency"),
                    literal(0).label("n"),
                    literal(0).label("net"),
                )
                .where(literal(False))
                .subquery()
            )
        return union_all(*parts).subquery()

    def _per_customer(self, window: Window) -> Select[Any]:
        """(customer_id, currency, net, n) of the customers who paid in the window."""
        if not self.use_rollups:
            p = payments
            return (
                select(p.c.customer_id, p.c.currency, func.sum(NET).label("net"), func.count().label("n"))
                .where(*self._paying(window))
                .group_by(p.c.customer_id, p.c.currency)
            )
        u = self._monthly([Bucket("window", window.start, window.end)], window.currency)
        n = func.sum(u.c.n)
        return (
            select(u.c.customer_id, u.c.currency, func.sum(u.c.net).label("net"), n.label("n"))
            .group_by(u.c.customer_id, u.c.currency)
            .having(n > 0)
        )

    async def customer_totals(self, window: Window, limit: int) -> CustomerTotals:
        """The best `limit` customers of each currency by net revenue, each currency's totals, and the customers
        new and returning, from one pass: the per-customer sums are made once (a CTE read three times is
        materialized). PostgreSQL keeps each currency's best by a bounded sort (LATERAL ... LIMIT), not by a window
        function sorting every customer (at a million payments that sort took 1.6 s); SQLite has no LATERAL and
        ranks. Three cheaper ways come first: a range covering most of the history is read from the all-time totals
        (customer_totals.py); one holding a whole UTC month from the months rows and a walk of the totals
        (customer_counts.py, customer_best.py); grouping the range's customers is left for short ranges.
        """
        query = None
        if self.use_rollups:
            span = from_totals.span_of(tuple((await self._execute(from_totals.span_query())).one()))
            # In one currency, the totals' way matches the newcomers against every customer of the currency (0.5
            # to 0.8 s at a million payments): the months rows first.
            ways = [self._from_totals, self._by_masks]
            for way in ways if window.currency is None else ways[::-1]:
                found = await way(window, limit, span)
                if isinstance(found, CustomerTotals):
                    return found
                if found is not None:
                    query = found
                    break
        if query is None:
            query = self._from_months(window, limit)
        top: list[CustomerNet] = []
        nets: dict[str, CurrencyNet] = {}
        rows = (await self._execute(query)).all()
        paying, new = as_int(rows[0][0]), as_int(rows[0][1])  # the counts' one row, on every row
        for _, _, code, net, customers, customer_id, customer_net, n in rows:
            if code is not None:
                nets[code] = CurrencyNet(code, as_int(net), as_int(customers))
            if customer_id is not None:
                top.append(CustomerNet(customer_id, code, as_int(customer_net), as_int(n)))
        return CustomerTotals(top, list(nets.values()), CustomerCounts(paying, new, paying - new))

    async def _from_totals(self, window: Window, limit: int, span: from_totals.Span | None) -> Select[Any] | None:
        """customer_totals' query from the totals less the span outside the window, when that is the cheaper side."""
        found = from_totals.outside(window, span)
        if found is None:
            return None
        codes = [window.currency] if window.currency is not None else []
        if window.currency is None:
            codes = [str(r[0]) for r in await self._execute(from_totals.currencies_query())]
        return from_totals.totals_query(window, self._monthly(found, window.currency), codes, limit)

    async def _by_masks(self, window: Window, limit: int, span: from_totals.Span | None) -> CustomerTotals | None:
        """customer_totals from the months rows and the totals (customer_counts.py, customer_best.py), when the
        window holds a whole UTC month and its months fit a mask; None: group the window's customers instead."""
        plan = None if span is None else customer_counts.Plan.of(window, int(span[0].timestamp()))
        if plan is None or not plan.sure:
            return None
        found, edges = split([Bucket("window", window.start, window.end)])
        start, end = (found[0][1], found[0][2]) if found else (plan.start, plan.start)
        tally = customer_counts.Tally(plan)
        tally.add((await self._execute(customer_counts.first_query(plan, edges, start, end))).all())
        if sum(tally.uncertain.values()) > customer_counts.MAX_UNCERTAIN:
            return None
        if tally.uncertain:
            tally.add((await self._execute(customer_counts.uncertain_query(plan, sorted(tally.uncertain)))).all())
        counts, customers, nets = tally.result()

        def sums(ids: Sequence[str]) -> Select[Any]:
            u = self._monthly([Bucket("window", window.start, window.end)], window.currency, ids)
            return select(u.c.customer_id, u.c.currency, func.sum(u.c.n), func.sum(u.c.net)).group_by(
                u.c.customer_id, u.c.currency
            )

        covering = customer_months.month_starts(plan.start, plan.end)
        months = covering if len(covering) <= MONTH_LISTS else []
        top = await customer_best.best(self._execute, sums, sorted(customers), limit, months)
        if top is None:
            return None
        return CustomerTotals(top, [CurrencyNet(c, nets[c], n) for c, n in sorted(customers.items())], counts)

    def _from_months(self, window: Window, limit: int) -> Select[Any]:
        per = self._per_customer(window).cte("per")
        first = analytics_customer_firsts if self.use_rollups else self._first_payments()
        active = select(func.count()).select_from(select(per.c.customer_id).group_by(per.c.customer_id).subquery())
        # New: a first payment in the window, which makes its customer one who paid in it, unless a currency is
        # asked for. Counted from the first payments' index, not by joining every active customer to theirs (165,000
        # index probes at a million payments: PostgreSQL cannot know how many customers the grouping leaves).
        newcomers = select(func.count()).where(first.c.first_at >= window.start, first.c.first_at < window.end)
        if window.currency is not None:
            newcomers = newcomers.where(first.c.customer_id.in_(select(per.c.customer_id)))
        counts = select(active.scalar_subquery().label("active"), newcomers.scalar_subquery().label("new")).subquery()
        totals = (
            select(per.c.currency, func.sum(per.c.net).label("net"), func.count().label("customers"))
            .group_by(per.c.currency)
            .subquery()
        )
        best: Any
        if self.pg:
            best = (
                select(per.c.customer_id, per.c.currency, per.c.net, per.c.n)
                .where(per.c.currency == totals.c.currency)
                .order_by(per.c.net.desc(), per.c.customer_id)
                .limit(limit)
                .lateral()
            )
            ranked = totals.outerjoin(best, literal(True))
        else:
            rank = func.row_number().over(partition_by=per.c.currency, order_by=(per.c.net.desc(), per.c.customer_id))
            every = select(per, rank.label("rank")).subquery()
            # Only the best are kept before the join (SQLite kept every customer and indexed them to join).
            best = select(every).where(every.c.rank <= limit).subquery()
            ranked = totals.outerjoin(best, best.c.currency == totals.c.currency)
        query = (
            select(
                counts.c.active,
                counts.c.new,
                totals.c.currency,
                totals.c.net,
                totals.c.customers,
                best.c.customer_id,
                best.c.net,
                best.c.n,
            )
            .select_from(counts.outerjoin(ranked, literal(True)))  # the counts even when nobody paid
            .order_by(totals.c.currency, best.c.net.desc(), best.c.customer_id)
        )
        return query

    def _paying(self, window: Window) -> list[ColumnElement[bool]]:
        return [
            CAPTURED,
            payments.c.customer_id.is_not(None),
            payments.c.created_at >= window.start,
            payments.c.created_at < window.end,
            *currency_is(payments.c.currency, window.currency),
        ]

    async def cohorts(self, months: Sequence[Bucket], currency: str | None) -> list[CohortCell]:
        """Customers whose first captured payment (any currency) falls in the months, by that month and each month
        they paid in (in `currency`, or any): counted by (first month, mask) from the customers' months rows, each
        UTC month mapped to its bucket, the customers whose months the range's edges cut corrected, those with
        deltas waiting the exact way (cohort_sql.py)."""
        if not self.use_rollups:
            return await self._cohorts_base(months, currency)
        buckets, query = _cohorts_by_rows(tuple(months), currency)
        # All exact when there is no whole month, or more months or buckets than a mask holds: one more month than
        # the range's, for a first payment in the stretch added before its first whole month.
        if query is None:
            rows = await self._execute(self._cohorts(months, currency))
            return [CohortCell(int(r[0]), int(r[1]), int(r[2])) for r in rows]
        whole = sorted(buckets)
        # A customer whose first payment is in a stretch added before the range's first whole month paid there in
        # every payment of that month (cohort_sql.py): the month is the first bucket's for them.
        newcomers = {**buckets, customer_months.month_of(months[0].start): 0}
        cells: Counter[tuple[int, int]] = Counter()
        for part, a, b, cohort, dropped, plus, n in await self._execute(query):
            count = int(n)
            if part == cohort_sql.EXACT:
                cells[int(a), int(b)] += count
                continue
            sign = -1 if part in (cohort_sql.TAKE, cohort_sql.FIX) else 1
            for cell in customer_months.cells(int(a), int(b), buckets):
                cells[cell] += sign * count
            if part == cohort_sql.FIX and cohort >= 0:
                cut = (int(dropped), int(plus))
                for cell in customer_months.fixed(int(cohort), int(a), int(b), cut, whole, newcomers):
                    cells[cell] += count
        return [CohortCell(cohort, month, n) for (cohort, month), n in sorted(cells.items()) if n]

    def _cohorts(self, months: Sequence[Bucket], currency: str | None) -> Select[Any]:
        """The cohorts from the monthly sums and edges of every customer (where the months rows cannot answer)."""
        return cohort_sql.by_cohort(months, self._monthly(months, currency))

    # -- the base path

    @staticmethod
    def _first_payments() -> Any:
        """Each customer's first payment that captured money, in any currency (the whole history grouped)."""
        p = payments
        return (
            select(p.c.customer_id, func.min(p.c.created_at).label("first_at"))
            .where(CAPTURED, p.c.customer_id.is_not(None))
            .group_by(p.c.customer_id)
            .subquery()
        )

    async def _cohorts_base(self, months: Sequence[Bucket], currency: str | None) -> list[CohortCell]:
        first = self._first_payments()
        paid, cohort = buckets_cte(months, "paid_in"), buckets_cte(months, "cohort")
        p = payments
        query = (
            select(cohort.c.i, paid.c.i, func.count(distinct(p.c.customer_id)))
            .select_from(
                paid.join(p, in_bucket(p.c.created_at, paid))
                .join(first, first.c.customer_id == p.c.customer_id)
                .join(cohort, in_bucket(first.c.first_at, cohort))
            )
            .where(CAPTURED, *currency_is(p.c.currency, currency))
            .group_by(cohort.c.i, paid.c.i)
        )
        return [CohortCell(r[0], r[1], int(r[2])) for r in await self._execute(query)]
