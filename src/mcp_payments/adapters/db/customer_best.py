"""Each currency's best customers over a range, found by walking the all-time totals (migration 0028) down.

A payment's net is never below zero (0 once disputed, else captured less refunded, never more than captured), so a
customer's net over any range is at most their all-time total. Walk a currency's totals from the highest, in
batches, and sum each batch's customers over the range (their monthly rows and the range's stretches, by customer
id); once the best `limit` found are all above the next total, no customer left can reach them (a tie could:
customer ids break ties, so the walk goes on while the last best equals the next total). The customers deltas wait
for are summed first: their totals may not count their latest payments yet.

The totals bound a short range loosely (a month's best customers are not the year's): for a range within a few UTC
months, each of those months' rollups is walked down too (the (month, currency, net) index, migration 0029), and a
customer not read yet has at most the next net of each month, summed.

A top customer of a year is among the top of half of it; of a day, seldom: a walk longer than MAX_WALK gives up
and the caller groups the range's customers instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import literal, select, union_all

from mcp_payments.adapters.db.tables import (
    analytics_customer_deltas,
    analytics_customer_rollups,
    analytics_customer_totals,
)
from mcp_payments.services.analytics.ports import CustomerNet

FIRST_BATCH = 100
MAX_WALK = 6_000  # customers of one currency: batches of 100, 200, ... 3,200 at most (6,300)

Found = dict[tuple[str, str], tuple[int, int]]  # (currency, customer_id) -> (net, payments) in the range


def ranked(found: Found, code: str, limit: int) -> list[tuple[int, str]]:
    """The best `limit` (net, customer_id) of a currency found so far, customers who paid in the range only."""
    best = sorted((-net, customer_id) for (c, customer_id), (net, n) in found.items() if c == code and n > 0)
    return [(-net, customer_id) for net, customer_id in best[:limit]]


def batch_query(offsets: dict[str, int], size: int, months: Sequence[int]) -> Any:
    """(currency, list, customer_id, net): the next `size` of each currency's totals (list -1) and of its rollups in
    each of `months` (list i), highest first, each from an index."""
    t, r = analytics_customer_totals, analytics_customer_rollups
    parts = []
    for code, offset in sorted(offsets.items()):
        lists: list[tuple[int, Any, list[Any]]] = [(-1, t, [t.c.currency == code])]
        lists += [(i, r, [r.c.month == month, r.c.currency == code]) for i, month in enumerate(months)]
        for i, table, where in lists:
            page = (
                select(table.c.currency, literal(i).label("list"), table.c.customer_id, table.c.net)
                .where(*where)
                .order_by(table.c.net.desc(), table.c.customer_id)
                .limit(size)
                .offset(offset)
                .subquery()
            )
            parts.append(select(page))
    return union_all(*parts)


def bound(rows: Sequence[tuple[str, int, str, int]], code: str, size: int, months: int) -> int | None:
    """The most an unread customer of the currency can have in the range: the next total, or the next net of each
    month summed, the lower; None: every total is read."""
    last: dict[int, list[int]] = {}
    for c, i, _, net in rows:
        if c == code:
            last.setdefault(i, []).append(net)
    totals = last.get(-1, [])
    if len(totals) < size:
        return None
    found = totals[-1]
    if months:
        # A month whose rows are all read holds nothing more.
        by_month = sum(nets[-1] for i in range(months) if len(nets := last.get(i, [])) == size)
        found = min(found, by_month)
    return found


async def best(
    execute: Callable[[Any], Awaitable[Any]],
    sums: Callable[[Sequence[str]], Any],
    codes: Sequence[str],
    limit: int,
    months: Sequence[int],
) -> list[CustomerNet] | None:
    """The best customers of each currency, best first; None: a walk went past MAX_WALK. `sums(ids)` is a query of
    (customer_id, currency, payments, net) over the range for those customers; `months`: the UTC months (seconds)
    covering the range, when few (each month's rollups bound the range better than the totals for a short one)."""
    if not codes:
        return []
    found: Found = {}

    async def add(pairs: set[tuple[str, str]]) -> None:
        pairs = {p for p in pairs if p not in found}
        if not pairs:
            return
        for code, customer_id in pairs:
            found[code, customer_id] = (0, 0)
        for customer_id, code, n, net in await execute(sums(sorted({c for _, c in pairs}))):
            if (code, customer_id) in pairs:
                found[code, customer_id] = (int(net or 0), int(n or 0))

    d = analytics_customer_deltas
    waiting = select(d.c.currency, d.c.customer_id).where(d.c.currency.in_(codes)).distinct()
    await add({(str(code), str(customer_id)) for code, customer_id in await execute(waiting)})
    offsets = dict.fromkeys(codes, 0)
    chosen: dict[str, list[tuple[int, str]]] = {}
    size = max(FIRST_BATCH, 4 * limit)
    while offsets:
        if max(offsets.values()) >= MAX_WALK:
            return None
        rows = [
            (str(c), int(i), str(customer), int(net))
            for c, i, customer, net in await execute(batch_query(offsets, size, months))
        ]
        await add({(c, customer) for c, _, customer, _ in rows})
        for code in list(offsets):
            top, most = ranked(found, code, limit), bound(rows, code, size, len(months))
            if most is None or (len(top) == limit and top[-1][0] > most):
                chosen[code] = top
                del offsets[code]
            else:
                offsets[code] += size
        size *= 2
    return [
        CustomerNet(customer_id, code, net, found[code, customer_id][1])
        for code in codes
        for net, customer_id in chosen[code]
    ]
