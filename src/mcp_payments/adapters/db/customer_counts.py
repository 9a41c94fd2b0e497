"""The counts and nets of get_customer_insights over a range, without grouping its payments by customer.

Grouping half the history's monthly rollups by customer (400,000 rows at a million payments) cost 0.8 s on
PostgreSQL and 2 s on SQLite. Instead:

- A customer paid in a currency in the range when their months row (customer_months.py) has the bit of a UTC month
  wholly inside the range ("sure"), and did not when it has no bit of a month the range touches (its "covering"
  months). The rows are read as their counts per (currency, first month, mask) (16,000 groups at a million payments,
  kept by the compaction since migration 0029: grouping the 450,000 rows cost 0.1 s a call); in Python each group is
  sure, not paying, or uncertain: bits only in the months the range's ends cut. The few uncertain rows (customers who
  paid in a cut month and in no month inside) are then read by their (currency, first month, mask) and checked for
  a payment in the range, one probe of the captured payments' (customer_id, created_at) index each.
- A row is current unless deltas wait for its customer ("stale": the compaction folds them in every few seconds);
  those customers are taken away and checked the same way, pair by pair.
- The newcomers: first payments in the range, from their index. With a currency, the paying customers whose row's
  first month is a covering month, less those whose first payment lies in a cut month outside the range.
- Each currency's net: its monthly sums (migration 0029) and waiting deltas over the months between the month
  starts nearest to the range's ends, and the payments of the stretches between (customer_insights.split).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Select, and_, case, exists, func, literal, or_, select, union, union_all

from mcp_payments.adapters.db import customer_months
from mcp_payments.adapters.db.analytics_sql import CAPTURED, NET
from mcp_payments.adapters.db.cohort_sql import Edge
from mcp_payments.adapters.db.customer_months import month_number, month_of, month_starts
from mcp_payments.adapters.db.tables import (
    analytics_currency_months,
    analytics_customer_deltas,
    analytics_customer_firsts,
    analytics_customer_month_groups,
    analytics_customer_months,
    payments,
)
from mcp_payments.services.analytics.ports import CustomerCounts, Window

BASE, UNCERTAIN, STALE, EXACT, CUT_FIRST, NEW, NETS = range(7)
ANY = customer_months.ANY
MAX_UNCERTAIN = 20_000  # uncertain rows to read by key; more: the caller groups the range's customers
Group = tuple[str, int, int]  # (currency, first month, mask)


def bits_by_first(months: Sequence[int], firsts: Sequence[int]) -> dict[int, int]:
    """For each first month, the mask bits of `months` (UTC month starts) in a row starting there."""
    found: dict[int, int] = {}
    for first in firsts:
        bits = 0
        for month in months:
            k = month_number(month) - month_number(first)
            if 0 <= k < customer_months.BITS:
                bits |= 1 << k
        if bits:
            found[first] = bits
    return found


@dataclass(frozen=True)
class Plan:
    """A range read from the months rows: its covering UTC months [start, end), the bits of those and of the ones
    wholly inside it per first month, and the stretches of the cut months outside it."""

    window: Window
    start: int
    end: int
    covering: dict[int, int]
    sure: dict[int, int]
    cut: list[tuple[datetime, datetime]]  # the cut months' parts outside the range
    inside: list[tuple[datetime, datetime]]  # and inside it

    @classmethod
    def of(cls, window: Window, first: int) -> Plan | None:
        """The plan of a window whose rows' first months start at `first`; None: its months do not fit a mask."""
        start = month_of(window.start)
        end = customer_months.add_months(month_of(window.end - _INSTANT), 1)
        if month_number(end) - month_number(first) > customer_months.BITS:
            return None
        months, firsts = month_starts(start, end), month_starts(first, end)
        cut: list[tuple[datetime, datetime]] = []
        parts: list[tuple[datetime, datetime]] = []
        whole = set(months)
        if window.start.timestamp() > start:
            following = datetime.fromtimestamp(customer_months.add_months(start, 1), UTC)
            cut.append((datetime.fromtimestamp(start, UTC), window.start))
            parts.append((window.start, min(following, window.end)))
            whole.discard(start)
        if window.end.timestamp() < end:
            last = month_of(window.end)
            cut.append((window.end, datetime.fromtimestamp(end, UTC)))
            parts.append((max(datetime.fromtimestamp(last, UTC), window.start), window.end))
            whole.discard(last)
        sure = bits_by_first(sorted(whole), firsts)
        return cls(window, start, end, bits_by_first(months, firsts), sure, cut, sorted(set(parts)))

    def kind(self, first: int, mask: int) -> int:
        """1: the row's customer paid in the range; 0: did not; -1: uncertain."""
        if mask & self.sure.get(first, 0):
            return 1
        return -1 if mask & self.covering.get(first, 0) else 0

    def scope(self, col: Any) -> list[Any]:
        return [] if self.window.currency is None else [col.in_([self.window.currency, ANY])]


_INSTANT = datetime.fromtimestamp(1, UTC) - datetime.fromtimestamp(0, UTC)  # a second: bounds are whole seconds


def _bits(first: Any, by_first: dict[int, int]) -> Any:
    """The bits of a months row's first month, from a table of them."""
    if not by_first:
        return literal(0, BigInteger)
    return case({f: literal(b, BigInteger) for f, b in by_first.items()}, value=first, else_=literal(0, BigInteger))


def _in_window(col: Any, window: Window) -> Any:
    return and_(col >= window.start, col < window.end)


def _paid(customer_id: Any, currency: Any, stretches: Sequence[tuple[datetime, datetime]]) -> Any:
    """Whether the customer has a captured payment in the stretches, in the currency (ANY: in any)."""
    p = payments
    return or_(
        *(
            exists().where(
                p.c.customer_id == customer_id,
                CAPTURED,
                p.c.created_at >= s,
                p.c.created_at < e,
                or_(currency == ANY, p.c.currency == currency),
            )
            for s, e in stretches
        )
    )


def _exact(plan: Plan, rows: Any, customer_id: Any, currency: Any, paid: Any, *where: Any) -> Select[Any]:
    """(EXACT, currency, paying, newcomers, 0) of (customer, currency) rows, each checked against the payments
    (`paid`); newcomers only for a range in one currency (in any, they are counted from their index). OFFSET 0:
    `paying` evaluated once a row, not once per use in the sums (neither database flattens it)."""
    f, window = analytics_customer_firsts, plan.window
    new: Any = literal(0)
    if window.currency is not None:
        rows = rows.outerjoin(f, f.c.customer_id == customer_id)
        new = case((_in_window(f.c.first_at, window), 1), else_=0)
    each = (
        select(currency.label("currency"), case((paid, 1), else_=0).label("paying"), new.label("new"))
        .select_from(rows)
        .where(*where)
        .offset(0)
        .subquery()
    )
    zero = literal(0, BigInteger)
    return select(
        literal(EXACT), each.c.currency, func.sum(each.c.paying), func.sum(each.c.paying * each.c.new), zero
    ).group_by(each.c.currency)


def first_query(plan: Plan, nets: Sequence[Edge], net_start: int, net_end: int) -> Any:
    """(part, currency, a, b, c) rows for `counts`: BASE (paying, newcomers, 0) of the rows sure of either,
    UNCERTAIN (first month, mask, rows) of the others with a bit in the range's months; STALE the latter of
    the rows of the customers deltas wait for, and EXACT their (currency, paying, newcomers) pair by pair; CUT_FIRST
    (first month, mask, rows) of the customers whose first payment is in a cut month outside the range; NEW
    (newcomers in any currency); NETS (each currency's net over [net_start, net_end) and the `nets` stretches)."""
    m, f, d = analytics_customer_months, analytics_customer_firsts, analytics_customer_deltas
    window = plan.window
    whole = (window.start, window.end)
    zero = literal(0, BigInteger)
    # The groups summed in SQL, a bit test each (16,000 rows: building them in Python cost more, 0.13 s); only the
    # uncertain ones come back one by one.
    g = analytics_customer_month_groups
    sure = g.c.mask.op("&")(_bits(g.c.first_month, plan.sure)) != 0
    covered = g.c.mask.op("&")(_bits(g.c.first_month, plan.covering)) != 0
    first_in = and_(g.c.first_month >= plan.start, g.c.first_month < plan.end)
    groups = [g.c.customers != 0, *plan.scope(g.c.currency)]
    base = (
        select(
            literal(BASE),
            g.c.currency,
            func.sum(case((sure, g.c.customers), else_=0)),
            func.sum(case((and_(sure, first_in), g.c.customers), else_=0)),
            zero,
        )
        .where(*groups)
        .group_by(g.c.currency)
    )
    uncertain = select(literal(UNCERTAIN), g.c.currency, g.c.first_month, g.c.mask, g.c.customers).where(
        *groups, ~sure, covered
    )
    stale = select(d.c.customer_id).distinct().cte("stale")
    # Their rows by primary key: SQLite read every row through the (currency, first_month) index unless its terms
    # are made unindexable (`|| ''`, SQLite's idiom).
    code = m.c.currency.concat("")

    def rows_of(among: Any, part: int) -> Select[Any]:
        return (
            select(literal(part), code, m.c.first_month, m.c.mask, func.count())
            .select_from(among.join(m, m.c.customer_id == among.c.customer_id))
            .where(*plan.scope(code))
            .group_by(code, m.c.first_month, m.c.mask)
        )

    pairs = union(
        select(m.c.customer_id, m.c.currency)
        .select_from(stale.join(m, m.c.customer_id == stale.c.customer_id))
        .where(*plan.scope(code)),
        select(d.c.customer_id, d.c.currency).where(*plan.scope(d.c.currency)),
        select(stale.c.customer_id, literal(ANY)),
    ).subquery()
    parts: list[Any] = [
        base,
        uncertain,
        rows_of(stale, STALE),
        _exact(
            plan, pairs, pairs.c.customer_id, pairs.c.currency, _paid(pairs.c.customer_id, pairs.c.currency, [whole])
        ),
        select(literal(NEW), literal(ANY), func.count(), zero, zero).where(_in_window(f.c.first_at, window)),
        nets_query(window, nets, net_start, net_end),
    ]
    if plan.cut and window.currency is not None:
        cut_firsts = (
            select(f.c.customer_id)
            .where(or_(*(and_(f.c.first_at >= s, f.c.first_at < e) for s, e in plan.cut)))
            .where(f.c.customer_id.not_in(select(stale.c.customer_id)))
            .subquery()
        )
        parts.append(rows_of(cut_firsts, CUT_FIRST))
    return union_all(*parts)


def uncertain_query(plan: Plan, groups: Sequence[Group]) -> Select[Any]:
    """EXACT rows of the uncertain rows, read by their groups' keys (the stale customers' are counted already). They
    paid in no month inside the range: only the cut months' parts inside it are looked at."""
    m, d = analytics_customer_months, analytics_customer_deltas
    masks: dict[tuple[str, int], list[int]] = {}
    for code, first, mask in groups:
        masks.setdefault((code, first), []).append(mask)
    # An OR of index ranges: a (currency, first_month, mask) IN (VALUES ...) made SQLite scan the table.
    keys = or_(
        *(
            and_(m.c.currency == code, m.c.first_month == first, m.c.mask.in_(sorted(found)))
            for (code, first), found in sorted(masks.items())
        )
    )
    paid = _paid(m.c.customer_id, m.c.currency, plan.inside)
    return _exact(plan, m, m.c.customer_id, m.c.currency, paid, keys, m.c.customer_id.not_in(select(d.c.customer_id)))


def nets_query(window: Window, edges: Sequence[Edge], start: int, end: int) -> Select[Any]:
    """(NETS, currency, net, 0, 0) of each currency: its months' sums and waiting deltas, and the edges' payments,
    signed."""
    c, d, p = analytics_currency_months, analytics_customer_deltas, payments

    def only(col: Any) -> list[Any]:
        return [] if window.currency is None else [col == window.currency]

    parts: list[Any] = [
        select(c.c.currency, c.c.net).where(c.c.month >= start, c.c.month < end, *only(c.c.currency)),
        select(d.c.currency, d.c.net).where(d.c.month >= start, d.c.month < end, *only(d.c.currency)),
    ]
    for _, sign, s, e in edges:  # each a range of the created_at index, with its bounds as constants
        parts.append(
            select(p.c.currency, (sign * NET).label("net")).where(
                CAPTURED, p.c.customer_id.is_not(None), p.c.created_at >= s, p.c.created_at < e, *only(p.c.currency)
            )
        )
    u = union_all(*parts).subquery()
    zero = literal(0, BigInteger)
    return select(literal(NETS), u.c.currency, func.sum(u.c.net), zero, zero).group_by(u.c.currency)


class Tally:
    """The counts summed from the statements' rows."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.paying: Counter[str] = Counter()
        self.newcomers: Counter[str] = Counter()
        self.nets: Counter[str] = Counter()
        self.new = 0
        self.uncertain: dict[Group, int] = {}  # read by key next, the stale customers left out

    def add(self, rows: Sequence[Any]) -> None:
        for part, code, a, b, c in rows:
            if part == NETS:
                self.nets[code] += int(a or 0)
            elif part == NEW:
                self.new = int(a or 0)
            elif part in (BASE, EXACT):
                self.paying[code] += int(a or 0)
                self.newcomers[code] += int(b or 0)
            else:
                self._group(part, code, int(a), int(b), int(c))

    def _group(self, part: int, code: str, first: int, mask: int, n: int) -> None:
        """Groups of rows BASE counted as sure: UNCERTAIN ones to read next, the STALE and CUT_FIRST customers' to
        take away."""
        if part == UNCERTAIN:
            self.uncertain[code, first, mask] = n
            return
        if self.plan.kind(first, mask) <= 0:
            return  # not in BASE's sums
        if part == STALE:
            self.paying[code] -= n
        if self.plan.start <= first < self.plan.end:
            self.newcomers[code] -= n

    def result(self) -> tuple[CustomerCounts, dict[str, int], dict[str, int]]:
        """The counts, each currency's paying customers and each currency's net."""
        currency = self.plan.window.currency
        active = self.paying[currency if currency is not None else ANY]
        new = self.newcomers[currency] if currency is not None else self.new
        customers = {code: n for code, n in self.paying.items() if code != ANY and n > 0}
        return CustomerCounts(active, new, active - new), customers, {code: self.nets[code] for code in customers}
