"""The statement behind the cohorts of get_customer_insights (customer_insights.py `cohorts`).

Three parts, one statement (one snapshot), summed in Python:

- every customer of the range's cohorts by (first month, mask), from the months rows (customer_months.py) through
  the index on (currency, first_month, mask): no customer id is read;
- less the same count of the customers a row cannot answer for ("stale": deltas waiting, so their row may be old; a
  captured payment or their first payment in one of the range's edges, so their months do not map whole to one
  bucket), looked up by their ids (an anti-join of 160,000 rows cost more than subtracting);
- plus those customers counted the exact way: their monthly sums and waiting deltas (read by customer id: a few
  thousand customers, not every customer of the range's months) and the edges' payments, signed as in `split`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, or_, select, union, union_all
from sqlalchemy.sql.expression import CTE

from mcp_payments.adapters.db import customer_months
from mcp_payments.adapters.db.analytics_sql import CAPTURED, currency_is
from mcp_payments.adapters.db.tables import (
    analytics_customer_deltas,
    analytics_customer_firsts,
    analytics_customer_months,
    analytics_customer_rollups,
    payments,
)
from mcp_payments.domain.periods import Bucket

Months = tuple[int, int, int]  # (bucket index, first month, end month): UTC month starts, seconds since the epoch
Edge = tuple[int, int, datetime, datetime]  # (bucket index, +1 to add or -1 to take away, from, to)
ADD, TAKE, EXACT = 0, 1, 2  # the parts, in the statement's first column


def _within(col: Any, stretches: Sequence[tuple[Any, Any]]) -> Any:
    return or_(*(and_(col >= s, col < e) for s, e in stretches))


def stale(edges: Sequence[Edge]) -> CTE:
    """The customers whose months rows the range cannot use."""
    p, f, d = payments, analytics_customer_firsts, analytics_customer_deltas
    stretches = sorted({(s, e) for _, _, s, e in edges})  # a stretch between two buckets is each one's edge
    parts: list[Any] = [select(d.c.customer_id)]
    if stretches:
        parts.append(
            select(p.c.customer_id).where(CAPTURED, p.c.customer_id.is_not(None), _within(p.c.created_at, stretches))
        )
        parts.append(select(f.c.customer_id).where(_within(f.c.first_at, stretches)))
    found: Any = union(*parts) if len(parts) > 1 else parts[0].distinct()  # each once: the masks join to them
    cte: CTE = found.cte("stale")
    return cte


def masks(buckets: dict[int, int], currency: str | None, among: CTE | None) -> Select[Any]:
    """(ADD or TAKE, first month, mask, customers) of the range's cohorts; TAKE: only the customers `among`."""
    m = analytics_customer_months
    code: Any = m.c.currency
    first: Any = m.c.first_month
    if among is not None:
        # Probe the primary key from the few customers: SQLite read every row of the range through the
        # (currency, first_month) index, fetching each for its id, unless its terms are made unindexable (`|| ''`,
        # `+ 0`, SQLite's idiom).
        code, first = code.concat(""), first + 0
    query = select(literal(ADD if among is None else TAKE), m.c.first_month, m.c.mask, func.count()).where(
        code == (currency or customer_months.ANY), first.in_(sorted(buckets))
    )
    if among is not None:
        query = query.select_from(among.join(m, m.c.customer_id == among.c.customer_id))
    return query.group_by(m.c.first_month, m.c.mask)


def exact(
    months: Sequence[Bucket], found: Sequence[Months], edges: Sequence[Edge], currency: str | None, among: CTE
) -> Select[Any]:
    """(EXACT, cohort, month, customers) of the customers `among`. Their edge payments are all of the edges'
    payments: a customer with one is among them by definition."""
    parts: list[Any] = []
    for t in (analytics_customer_rollups, analytics_customer_deltas):
        if found:
            bucket = case(*((and_(t.c.month >= s, t.c.month < e), i) for i, s, e in found))
            parts.append(
                select(bucket.label("i"), t.c.customer_id, t.c.payments.label("n")).where(
                    t.c.customer_id.in_(select(among.c.customer_id)),
                    or_(*(and_(t.c.month >= s, t.c.month < e) for _, s, e in found)),
                    *currency_is(t.c.currency, currency),
                )
            )
    p = payments
    for i, sign, s, e in edges:  # each a range of the created_at index, with its bounds as constants
        parts.append(
            select(literal(i).label("i"), p.c.customer_id, literal(sign).label("n")).where(
                CAPTURED,
                p.c.customer_id.is_not(None),
                p.c.created_at >= s,
                p.c.created_at < e,
                *currency_is(p.c.currency, currency),
            )
        )
    return by_cohort(months, union_all(*parts).subquery(), literal(EXACT))


def by_cohort(months: Sequence[Bucket], signed: Any, *lead: Any) -> Select[Any]:
    """(*lead, cohort, month, customers) from `signed` (i, customer_id, n) rows: a customer paid in bucket i when
    their n sum above zero there, and belongs to the cohort of the bucket holding their first payment."""
    u = signed
    paid = select(u.c.i, u.c.customer_id).group_by(u.c.i, u.c.customer_id).having(func.sum(u.c.n) > 0).subquery()
    f = analytics_customer_firsts
    if len(months) == 1:
        cohort: Any = literal(0)
    else:
        cohort = case(*((f.c.first_at < b.end, i) for i, b in enumerate(months[:-1])), else_=len(months) - 1)
    return (
        select(*lead, cohort, paid.c.i, func.count())
        .select_from(paid.join(f, f.c.customer_id == paid.c.customer_id))
        .where(f.c.first_at >= months[0].start, f.c.first_at < months[-1].end)
        .group_by(cohort, paid.c.i)
    )
