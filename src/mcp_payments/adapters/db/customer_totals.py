"""The customer totals of a range read as each customer's all-time sums (migration 0028) less what lies outside it.

A range covering most of the history holds most of the monthly rollups: grouping them by customer cost 1.0 to 1.6 s
at a million payments on PostgreSQL. Every payment counted lies within the months the rollups and waiting deltas
hold (their span), so a range's sums are the all-time totals, plus the waiting deltas, less the payments of the span
outside the range (read like any range: months from the rollups, edges from the payments). When the span outside
holds fewer months than the range, that is the cheaper side (`outside`).

Only the customers the deltas or the outside touch are summed (`changed`); every other customer's sums in the range
are their totals. So a currency's best customers are the best untouched ones, read from the (currency, net) index
skipping the touched, with the touched ones beside them; its net is the totals' plus the touched customers'
changes; its customers and the customers active in any currency are the totals' counts corrected by the touched.
A range covering the whole span touches only the waiting deltas' customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, literal, select, text, union_all

from mcp_payments.adapters.db.analytics_sql import currency_is
from mcp_payments.adapters.db.tables import (
    analytics_customer_deltas,
    analytics_customer_firsts,
    analytics_customer_rollups,
    analytics_customer_totals,
)
from mcp_payments.domain.periods import Bucket
from mcp_payments.services.analytics.ports import Window

Span = tuple[datetime, datetime]  # the first month start the rollups or deltas hold, and the end of the last month


def span_query() -> Select[Any]:
    """The first and last months the rollups and waiting deltas hold (each an end of an index)."""
    r, d = analytics_customer_rollups, analytics_customer_deltas
    return select(
        select(func.min(r.c.month)).scalar_subquery(),
        select(func.max(r.c.month)).scalar_subquery(),
        select(func.min(d.c.month)).scalar_subquery(),
        select(func.max(d.c.month)).scalar_subquery(),
    )


def span_of(row: Sequence[int | None]) -> Span | None:
    starts, lasts = [m for m in row[0::2] if m is not None], [m for m in row[1::2] if m is not None]
    if not starts or not lasts:
        return None
    return datetime.fromtimestamp(min(starts), UTC), month_after(datetime.fromtimestamp(max(lasts), UTC))


def month_after(month: datetime) -> datetime:
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)


# A month outside the window costs about three inside it: its customers are summed, then matched against the totals
# and left out of each currency's best (at a million payments on PostgreSQL, 3 months outside of 12 took as long as
# the 9 inside).
OUTSIDE_COST = 3


def outside(window: Window, span: Span | None) -> list[Bucket] | None:
    """The stretches of the span outside the window, when reading the totals less them is the cheaper side (the
    months starting in each as the estimate of their rows); None: read the window's own months."""
    if span is None:
        return None
    inside = total = 0
    month = span[0]
    while month < span[1]:
        total += 1
        inside += window.start <= month < window.end
        month = month_after(month)
    if inside == 0 or OUTSIDE_COST * (total - inside) >= inside:
        return None
    found = []
    if span[0] < window.start:
        found.append(Bucket("before", span[0], window.start))
    if window.end < span[1]:
        found.append(Bucket("after", window.end, span[1]))
    return found


def currencies_query() -> Any:
    """The currencies the totals and deltas hold: the totals' by skipping along their (currency, net) index."""
    t, d = analytics_customer_totals.name, analytics_customer_deltas.name
    return text(
        f"WITH RECURSIVE c(code) AS (SELECT min(currency) FROM {t} UNION ALL "
        f"SELECT (SELECT min(currency) FROM {t} WHERE currency > c.code) FROM c WHERE c.code IS NOT NULL) "
        f"SELECT code FROM c WHERE code IS NOT NULL UNION SELECT DISTINCT currency FROM {d}"
    )


def totals_query(window: Window, outside_rows: Any, codes: Sequence[str], limit: int) -> Select[Any]:
    """The rows of CustomerInsights.customer_totals' query (active, new, currency, net, customers, customer_id, net,
    n) read from the totals: `outside_rows` are the (customer_id, currency, n, net) of the span outside the window,
    `codes` the currencies to rank."""
    t, d, f = analytics_customer_totals, analytics_customer_deltas, analytics_customer_firsts
    mine = currency_is(t.c.currency, window.currency)
    # `waiting`: the deltas' part of a change, which the customers' first payments already count (below).
    changes = union_all(
        select(d.c.customer_id, d.c.currency, d.c.payments.label("waiting"), d.c.payments.label("n"), d.c.net).where(
            *currency_is(d.c.currency, window.currency)
        ),
        select(
            outside_rows.c.customer_id,
            outside_rows.c.currency,
            literal(0).label("waiting"),
            (-outside_rows.c.n).label("n"),
            (-outside_rows.c.net).label("net"),
        ),
    ).subquery()
    touched = (
        select(
            changes.c.customer_id,
            changes.c.currency,
            func.sum(changes.c.waiting).label("waiting"),
            func.sum(changes.c.n).label("n"),
            func.sum(changes.c.net).label("net"),
        )
        .group_by(changes.c.customer_id, changes.c.currency)
        .cte("touched")
    )
    was, was_net = func.coalesce(t.c.payments, 0), func.coalesce(t.c.net, 0)
    changed = (
        select(
            touched.c.customer_id,
            touched.c.currency,
            was.label("was"),
            (was + touched.c.waiting).label("now"),  # all time, with the waiting deltas
            (was + touched.c.n).label("n"),  # in the window
            (was_net + touched.c.net).label("net"),
            touched.c.net.label("change"),
        )
        .select_from(
            touched.outerjoin(t, and_(t.c.customer_id == touched.c.customer_id, t.c.currency == touched.c.currency))
        )
        .cte("changed")
    )

    def not_touched(code: str) -> Any:
        """The totals' row of a customer in the currency `code` is untouched: a NOT IN, which PostgreSQL hashes
        once (a NOT EXISTS became an anti join probing the CTE, which has no index, for every row read)."""
        return t.c.customer_id.not_in(select(touched.c.customer_id).where(touched.c.currency == code))

    is_touched = exists().where(touched.c.customer_id == t.c.customer_id, touched.c.currency == t.c.currency)

    def counted(n: Any) -> Any:
        return case((n > 0, 1), else_=0)

    # Each currency's net and customers: the totals' (one aggregation of the table, no join), plus the touched
    # customers' changes.
    parts = union_all(
        select(t.c.currency, func.sum(t.c.net).label("net"), func.sum(counted(t.c.payments)).label("c"))
        .where(*mine)
        .group_by(t.c.currency),
        select(
            changed.c.currency, func.sum(changed.c.change), func.sum(counted(changed.c.n) - counted(changed.c.was))
        ).group_by(changed.c.currency),
    ).subquery()
    nets = (
        select(parts.c.currency, func.sum(parts.c.net).label("net"), func.sum(parts.c.c).label("customers"))
        .group_by(parts.c.currency)
        .having(func.sum(parts.c.c) > 0)
        .cte("nets")
    )
    active: Any
    if window.currency is not None:
        active = select(func.coalesce(func.sum(nets.c.customers), 0)).scalar_subquery()
    else:
        # Customers active in any currency: everyone with a first payment (every customer with a payment counted,
        # the triggers keep it so: the totals and the waiting deltas together), corrected by the touched customers,
        # each of whom counted when any currency has payments now, and counts when any has some in the window.
        # Grouped, not probed: the touched may be a hundred thousand customers, and a CTE has no index.
        who = select(touched.c.customer_id).distinct().subquery()
        untouched_of_theirs = (
            select(t.c.customer_id, literal(1).label("after"), literal(1).label("before"))
            .select_from(t.join(who, t.c.customer_id == who.c.customer_id))
            .where(t.c.payments > 0, ~is_touched)  # an anti join: whole, not stopped early by a LIMIT
        )
        held = union_all(
            select(changed.c.customer_id, counted(changed.c.n).label("after"), counted(changed.c.now).label("before")),
            untouched_of_theirs,
        ).subquery()
        each = (
            select((func.max(held.c.after) - func.max(held.c.before)).label("change"))
            .group_by(held.c.customer_id)
            .subquery()
        )
        active = (
            select(func.count()).select_from(f).scalar_subquery()
            + select(func.coalesce(func.sum(each.c.change), 0)).scalar_subquery()
        )
    newcomers = select(func.count()).where(f.c.first_at >= window.start, f.c.first_at < window.end)
    if window.currency is not None:
        paid = union_all(
            select(t.c.customer_id).where(t.c.payments > 0, not_touched(window.currency), *mine),
            select(changed.c.customer_id).where(changed.c.n > 0),
        )
        newcomers = newcomers.where(f.c.customer_id.in_(paid))
    counts = select(active.label("active"), newcomers.scalar_subquery().label("new")).subquery()
    # Each currency's best: its best untouched customers from the index, and its touched ones, ranked together.
    ranked_parts = []
    for code in codes:
        untouched = (
            select(t.c.customer_id, t.c.currency, t.c.net, t.c.payments.label("n"))
            .where(t.c.currency == code, t.c.payments > 0, not_touched(code))
            .order_by(t.c.net.desc(), t.c.customer_id)
            .limit(limit)
            .subquery()
        )
        mixed = union_all(
            select(untouched),
            select(changed.c.customer_id, changed.c.currency, changed.c.net, changed.c.n).where(
                changed.c.currency == code, changed.c.n > 0
            ),
        ).subquery()
        best_of = select(mixed).order_by(mixed.c.net.desc(), mixed.c.customer_id).limit(limit).subquery()
        ranked_parts.append(select(best_of))
    if not ranked_parts:
        ranked_parts.append(
            select(literal("").label("customer_id"), literal("").label("currency"), literal(0), literal(0)).where(
                literal(False)
            )
        )
    best = union_all(*ranked_parts).subquery()
    customer_id, currency, net, n = best.c
    return (
        select(counts.c.active, counts.c.new, nets.c.currency, nets.c.net, nets.c.customers, customer_id, net, n)
        .select_from(counts.outerjoin(nets.outerjoin(best, currency == nets.c.currency), literal(True)))
        .order_by(nets.c.currency, net.desc(), customer_id)
    )
