"""The statement behind the cohorts of get_customer_insights (customer_insights.py `cohorts`).

Four parts, one statement (one snapshot), summed in Python; each row is (part, a, b, cohort, dropped, plus,
customers), a column a part does not use -1 or 0:

- ADD: every customer of the range's cohorts by (first month, mask), from the months rows' counts per group
  (customer_months.py, migration 0029): no customer id is read;
- TAKE and EXACT: the customers with deltas waiting (a compaction every 10 s leaves few), whose row may be old,
  taken away as ADD counted them and counted the exact way: their monthly sums and deltas, read by customer id, and
  their payments in the range's edges, signed as in `split`;
- FIX: the customers whose row the range's edges cut (a captured payment or their first payment in an edge), taken
  away as ADD counted them and counted again from their row, corrected (`fix`).

A row answers for every month but the ones an edge cuts, so only those are read again: for a month an edge takes a
stretch of, whether the customer paid only in that stretch (their rollup of the month, one primary-key probe, counts
no more payments than the stretch holds); for a stretch added, whether they paid in it. The range's start is an
edge apart: who paid there before their first payment is in no cohort, and who made their first payment there paid
in nothing of that month outside it, so only its newcomers are read, not its payers (nine days at the start of
2026-03-10..2026-11-30 hold 22,000 payers at a million payments, and a few thousand newcomers). That range's
cohorts were counted from every customer's monthly sums before (1.8 to 2.2 s).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Select, and_, case, func, literal, or_, select, union, union_all
from sqlalchemy.sql.expression import CTE

from mcp_payments.adapters.db import customer_months
from mcp_payments.adapters.db.analytics_sql import CAPTURED, currency_is
from mcp_payments.adapters.db.customer_months import month_of
from mcp_payments.adapters.db.tables import (
    analytics_customer_deltas,
    analytics_customer_firsts,
    analytics_customer_month_groups,
    analytics_customer_months,
    analytics_customer_rollups,
    payments,
)
from mcp_payments.domain.periods import Bucket

Months = tuple[int, int, int]  # (bucket index, first month, end month): UTC month starts, seconds since the epoch
Edge = tuple[int, int, datetime, datetime]  # (bucket index, +1 to add or -1 to take away, from, to)
ADD, TAKE, EXACT, FIX = 0, 1, 2, 3  # the parts, in the statement's first column
_UNUSED = (literal(-1), literal(0), literal(0))  # cohort, dropped, plus of the other parts


def _within(col: Any, stretches: Sequence[tuple[Any, Any]]) -> Any:
    return or_(*(and_(col >= s, col < e) for s, e in stretches))


def waiting() -> CTE:
    """The customers with deltas waiting."""
    d = analytics_customer_deltas
    cte: CTE = select(d.c.customer_id).distinct().cte("waiting")
    return cte


def masks(buckets: dict[int, int], currency: str | None, among: CTE | None) -> Select[Any]:
    """(ADD or TAKE, first month, mask, customers) of the range's cohorts; TAKE: only the customers `among`. ADD
    reads the rows' counts per group (migration 0029), not the rows."""
    code = currency or customer_months.ANY
    if among is None:
        g = analytics_customer_month_groups
        return select(literal(ADD), g.c.first_month, g.c.mask, *_UNUSED, g.c.customers).where(
            g.c.currency == code, g.c.first_month.in_(sorted(buckets)), g.c.customers != 0
        )
    m = analytics_customer_months
    # Probe the primary key from the few customers: SQLite read every row of the range through the
    # (currency, first_month) index, fetching each for its id, unless its terms are made unindexable (`|| ''`,
    # `+ 0`, SQLite's idiom).
    query = (
        select(literal(TAKE), m.c.first_month, m.c.mask, *_UNUSED, func.count())
        .select_from(among.join(m, m.c.customer_id == among.c.customer_id))
        .where(m.c.currency.concat("") == code, (m.c.first_month + 0).in_(sorted(buckets)))
    )
    return query.group_by(m.c.first_month, m.c.mask)


def exact(
    months: Sequence[Bucket], found: Sequence[Months], edges: Sequence[Edge], currency: str | None, among: CTE
) -> Select[Any]:
    """(EXACT, cohort, month, customers) of the customers `among`."""
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
    for i, sign, s, e in edges:  # each a range of the created_at index, with its bounds as constants
        edge = _payers(s, e, currency, literal(i).label("i"), literal(sign).label("n"))
        own = edge.where(payments.c.customer_id.in_(select(among.c.customer_id))).subquery()
        parts.append(select(own.c.i, own.c.customer_id, own.c.n))  # the rollups' order
    return by_cohort(months, union_all(*parts).subquery(), literal(EXACT), unused=_UNUSED)


def _payers(s: datetime, e: datetime, currency: str | None, *more: Any) -> Select[Any]:
    """The customer of each captured payment from `s` to before `e`, and `more`."""
    p = payments
    return select(p.c.customer_id, *more).where(
        CAPTURED,
        p.c.customer_id.is_not(None),
        p.c.created_at >= s,
        p.c.created_at < e,
        *currency_is(p.c.currency, currency),
    )


def _bit(k: int) -> Any:
    return literal(1 << k, BigInteger)


def clipped(months: Sequence[Bucket], found: Sequence[Months], edges: Sequence[Edge]) -> list[Edge]:
    """The edges, with the two of a bucket holding no whole month that take away and add from one month start (a
    range's last days) as the one stretch they add: so every stretch taken away is in one of the range's months."""
    whole = {i for i, _, _ in found}
    taking = {i for i, sign, _, _ in edges if sign < 0 and i not in whole}
    kept = [edge for edge in edges if edge[0] not in taking]
    return kept + [(i, 1, months[i].start, months[i].end) for i in sorted(taking)]


def fix(
    months: Sequence[Bucket], whole: Sequence[int], edges: Sequence[Edge], currency: str | None, among: CTE
) -> Select[Any]:
    """(FIX, first month, mask, cohort, dropped, plus, customers) of the customers an edge (`clipped`) cuts, but
    those `among` (read the exact way): `dropped`, the range's months (bit k: whole[k]) they paid in only in the
    stretch an edge takes away; `plus`, the buckets (bit i) they paid in a stretch added to; cohort, the bucket of
    their first payment, or -1."""
    start, end = months[0].start, months[-1].end
    inner = [edge for edge in edges if start not in (edge[2], edge[3])]  # the range's start: its newcomers only
    m, f = analytics_customer_months, analytics_customer_firsts
    ids: list[Any] = [select(f.c.customer_id).where(_within(f.c.first_at, sorted({(s, e) for *_, s, e in edges})))]
    bits: list[Any] = []  # dropped, plus: 0 when no edge asks for it
    grouped: list[Any] = []  # the same objects in GROUP BY: PostgreSQL matches their parameters by position
    joins: list[CTE] = []
    for found in (_dropped(whole, inner, currency), _plus(inner, currency)):
        if found is None:
            bits.append(literal(0))
            continue
        grouped.append(func.coalesce(found.c.bits, 0))
        bits.append(grouped[-1])
        ids.append(select(found.c.customer_id))
        joins.append(found)
    either: Any = union(*ids) if len(ids) > 1 else ids[0]
    x = either.subquery("cut")
    code = m.c.currency.concat("") == (currency or customer_months.ANY)  # probed by customer id, as in `masks`
    source = x.join(m, and_(m.c.customer_id == x.c.customer_id, code)).join(f, f.c.customer_id == x.c.customer_id)
    for t in joins:
        source = source.outerjoin(t, t.c.customer_id == x.c.customer_id)
    cohort = case((f.c.first_at < start, -1), *((f.c.first_at < b.end, i) for i, b in enumerate(months)), else_=-1)
    return (
        select(literal(FIX), m.c.first_month, m.c.mask, cohort, *bits, func.count())
        .select_from(source)
        .where(
            x.c.customer_id.not_in(select(among.c.customer_id)),
            or_((m.c.first_month + 0).in_(whole), and_(f.c.first_at >= start, f.c.first_at < end)),
        )
        .group_by(m.c.first_month, m.c.mask, cohort, *grouped)
    )


def _dropped(whole: Sequence[int], edges: Sequence[Edge], currency: str | None) -> CTE | None:
    """(customer_id, bits) of the customers who paid in a month of the range (bit k: whole[k]) only in the stretch
    an edge takes away: their rollup of the month counts no more payments than the stretch holds."""
    taken = [
        _payers(s, e, currency, literal(month_of(s)).label("month"), _bit(whole.index(month_of(s))).label("bit"))
        for _, sign, s, e in edges
        if sign < 0
    ]
    if not taken:
        return None
    u = union_all(*taken).subquery()
    g = (
        select(u.c.customer_id, u.c.month, u.c.bit, func.count().label("k"))
        .group_by(u.c.customer_id, u.c.month, u.c.bit)
        .subquery()
    )
    r = analytics_customer_rollups
    in_month = (
        select(func.coalesce(func.sum(r.c.payments), 0))
        .where(r.c.month == g.c.month, r.c.customer_id == g.c.customer_id, *currency_is(r.c.currency, currency))
        .scalar_subquery()
    )
    found: CTE = (
        select(g.c.customer_id, func.sum(g.c.bit).label("bits"))
        .where(in_month <= g.c.k)
        .group_by(g.c.customer_id)
        .cte("dropped")
    )
    return found


def _plus(edges: Sequence[Edge], currency: str | None) -> CTE | None:
    """(customer_id, bits) of the customers who paid in a stretch an edge adds to bucket i (bit i)."""
    added = [_payers(s, e, currency, _bit(i).label("bit")) for i, sign, s, e in edges if sign > 0]
    if not added:
        return None
    u = union_all(*added).subquery()
    a = select(u.c.customer_id, u.c.bit).distinct().subquery()
    found: CTE = select(a.c.customer_id, func.sum(a.c.bit).label("bits")).group_by(a.c.customer_id).cte("plus")
    return found


def by_cohort(months: Sequence[Bucket], signed: Any, *lead: Any, unused: Sequence[Any] = ()) -> Select[Any]:
    """(*lead, cohort, month, *unused, customers) from `signed` (i, customer_id, n) rows: a customer paid in bucket
    i when their n sum above zero there, and belongs to the cohort of the bucket holding their first payment."""
    u = signed
    paid = select(u.c.i, u.c.customer_id).group_by(u.c.i, u.c.customer_id).having(func.sum(u.c.n) > 0).subquery()
    f = analytics_customer_firsts
    if len(months) == 1:
        cohort: Any = literal(0)
    else:
        cohort = case(*((f.c.first_at < b.end, i) for i, b in enumerate(months[:-1])), else_=len(months) - 1)
    return (
        select(*lead, cohort, paid.c.i, *unused, func.count())
        .select_from(paid.join(f, f.c.customer_id == paid.c.customer_id))
        .where(f.c.first_at >= months[0].start, f.c.first_at < months[-1].end)
        .group_by(cohort, paid.c.i)
    )
