"""Each customer's months as one row (migration 0027): the month of their first payment and a bit per month after it
they paid in, per currency and for any currency (currency ''). The cohorts of get_customer_insights count customers
by (first month, mask) instead of grouping every customer's monthly rollups (customer_insights.py).

A row is a function of the customer's rollups and first payment, rebuilt whole for each customer a compaction
touches (rollups.py), in its transaction; the migration builds every customer's. A customer with deltas waiting is
read the exact way meanwhile, so a row is never read stale. A first payment that moves without a delta (a payment's
created_at changed within its month: no tool does it) stays in its month, and so does the row's first_month.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

ANY = ""  # the currency of the rows for payments in any currency
BITS = 63  # months 0..62 after the first; bit 63 would be the sign of a BIGINT
MONTHS, ROLLUPS, FIRSTS = "analytics_customer_months", "analytics_customer_rollups", "analytics_customer_firsts"
GROUPS = "analytics_customer_month_groups"  # how many rows have each (currency, first_month, mask): migration 0029


def month_index(pg: bool, seconds: str) -> str:
    """year * 12 + month of a UTC month start given in seconds since the epoch."""
    if pg:
        at = f"to_timestamp({seconds}) AT TIME ZONE 'UTC'"
        return f"(extract(year FROM {at}) * 12 + extract(month FROM {at}))::int"
    year, month = (f"CAST(strftime('{f}', {seconds}, 'unixepoch') AS INTEGER)" for f in ("%Y", "%m"))
    return f"({year} * 12 + {month})"


def first_month(pg: bool, first_at: str) -> str:
    """The start of the UTC month holding `first_at`, in seconds since the epoch (as the rollups' `month`)."""
    if pg:
        return f"extract(epoch FROM date_trunc('month', {first_at} AT TIME ZONE 'UTC'))::bigint"
    return f"CAST(strftime('%s', substr({first_at}, 1, 7) || '-01') AS INTEGER)"


def rebuild(pg: bool, ids: str | None, groups: bool = True) -> list[str]:
    """Statements that replace the rows of the customers `ids` (a query of customer ids; None: every customer) from
    their rollups and first payments. The mask is the sum of the distinct bits: an OR that SQLite can do too.
    `groups`: the group counts (from migration 0029 on) lose the old rows and gain the new ones."""

    def among(column: str) -> str:
        return "true" if ids is None else f"{column} IN ({ids})"

    def counted(sign: str) -> str:
        return (
            f"INSERT INTO {GROUPS} (currency, first_month, mask, customers) "
            f"SELECT currency, first_month, mask, {sign}count(*) FROM {MONTHS} WHERE {among('customer_id')} "
            f"GROUP BY currency, first_month, mask ON CONFLICT (currency, first_month, mask) "
            f"DO UPDATE SET customers = {GROUPS}.customers + excluded.customers"
        )

    firsts = (
        f"SELECT customer_id, first_month, {month_index(pg, 'first_month')} AS first_index FROM "
        f"(SELECT customer_id, {first_month(pg, 'first_at')} AS first_month FROM {FIRSTS} "
        f"WHERE {among('customer_id')}) x"
    )
    per_month = (
        f"SELECT r.customer_id, r.currency, f.first_month, {month_index(pg, 'r.month')} - f.first_index AS k "
        f"FROM {ROLLUPS} r JOIN ({firsts}) f ON f.customer_id = r.customer_id "
        f"WHERE r.payments > 0 AND {among('r.customer_id')}"
    )
    replace = [
        f"DELETE FROM {MONTHS} WHERE {among('customer_id')}",
        f"WITH m AS ({per_month}) "
        f"INSERT INTO {MONTHS} (customer_id, currency, first_month, mask) "
        f"SELECT customer_id, currency, first_month, sum(DISTINCT CAST(1 AS BIGINT) << k) FROM ("
        f"SELECT customer_id, currency, first_month, k FROM m UNION ALL "
        f"SELECT customer_id, '{ANY}', first_month, k FROM m) c "
        f"WHERE k >= 0 AND k < {BITS} GROUP BY customer_id, currency, first_month",
    ]
    if not groups:
        return replace
    # A group whose rows are all gone keeps a count of 0 (readers skip it): deleting them would scan the counts.
    return [counted("-"), *replace, counted("")]


def month_start(at: datetime) -> datetime:
    """The UTC month start holding the instant."""
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def month_of(at: datetime) -> int:
    """The UTC month start holding the instant, in seconds since the epoch."""
    return int(month_start(at).timestamp())


def month_number(seconds: int) -> int:
    """year * 12 + month - 1 of a UTC month start in seconds since the epoch: months apart by subtraction."""
    at = datetime.fromtimestamp(seconds, UTC)
    return at.year * 12 + at.month - 1


def month_starts(start: int, end: int) -> list[int]:
    """The UTC month starts from `start` to before `end` (seconds since the epoch)."""
    found: list[int] = []
    while start < end:
        found.append(start)
        start = add_months(start, 1)
    return found


@lru_cache(maxsize=1 << 16)  # a range's cohorts ask for the same few dozen months thousands of times
def add_months(seconds: int, k: int) -> int:
    """The UTC month start k months after the one at `seconds`."""
    at = datetime.fromtimestamp(seconds, UTC)
    n = at.year * 12 + at.month - 1 + k
    return int(datetime(n // 12, n % 12 + 1, 1, tzinfo=UTC).timestamp())


def months_of(first: int, mask: int) -> list[int]:
    """The UTC month starts of the bits set in a mask."""
    found: list[int] = []
    while mask:
        k = (mask & -mask).bit_length() - 1  # the lowest bit set
        mask &= mask - 1
        found.append(add_months(first, k))
    return found


def bits(mask: int) -> list[int]:
    """The indexes of the bits set."""
    return [k for k in range(mask.bit_length()) if mask >> k & 1]


def cells(first: int, mask: int, buckets: dict[int, int]) -> set[tuple[int, int]]:
    """(cohort, month) bucket pairs of customers with this first month and mask; `buckets` maps each UTC month start
    of a range to its bucket's index. Pairs, not a count per bit: two months of one bucket are one paid month."""
    cohort = buckets.get(first)
    if cohort is None:
        return set()
    return {(cohort, i) for m in months_of(first, mask) if (i := buckets.get(m)) is not None}


def fixed(
    cohort: int, first: int, mask: int, cut: tuple[int, int], whole: list[int], buckets: dict[int, int]
) -> set[tuple[int, int]]:
    """(cohort, month) bucket pairs of a customer whose months an edge of the range cuts (cohort_sql.fix): the
    mask's months but those they paid in only in a stretch taken away (`dropped`, bit k: whole[k]), and the buckets
    they paid in a stretch added to (`plus`, bit i: bucket i)."""
    dropped, plus = cut
    paid = set(months_of(first, mask)).difference(whole[k] for k in bits(dropped))
    found = {i for m in paid if (i := buckets.get(m)) is not None}
    return {(cohort, i) for i in found.union(bits(plus))}
