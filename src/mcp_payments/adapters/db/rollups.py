"""The analytics rollups (migration 0025): where a range of time is read from, and how deltas are compacted.

Rollups hold sums per bucket of 900, 3,600 and 86,400 seconds (UTC). A range whose ends fall on quarter hours (every
time zone's midnight today: whole-hour, :30 and :45 offsets) is read as at most five aligned pieces, days in the
middle and hours and quarter hours at its ends: exact, and a year of days reads about 365 rows per key. A range
that does not align (a zone's local mean time before 1900) is read from the base tables by the caller.

The customer rollups (migration 0026) hold sums per UTC month, customer and currency, (0028) per customer and
currency over all time, and (0027) each customer's months as one row; their readers are customer_insights.py,
customer_totals.py and cohort_sql.py, their compaction is here with the others.

Compaction moves every committed delta into the rollups in one transaction. On PostgreSQL it is one
statement (DELETE ... RETURNING feeding the upsert: what it adds is exactly what it removed, whatever commits
meanwhile), under a transaction-level advisory lock that a second compactor does not wait for: it leaves the
work to the first. On SQLite the transaction holds the database's write lock, so the INSERT and the DELETE see
the same deltas.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import BigInteger, Integer, Table, column, text, values
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import CTE

from mcp_payments.adapters.db import customer_months
from mcp_payments.adapters.db.tables import (
    ROLLUP_MEASURES,
    analytics_attempt_deltas,
    analytics_attempt_rollups,
    analytics_currency_months,
    analytics_customer_deltas,
    analytics_customer_firsts,
    analytics_customer_month_groups,
    analytics_customer_months,
    analytics_customer_rollups,
    analytics_customer_totals,
    analytics_revenue_deltas,
    analytics_revenue_rollups,
)
from mcp_payments.domain.periods import Bucket

SIZES = (86_400, 3_600, 900)  # coarsest first
QUARTER = 900
PG_LOCK = 0x6D63_7061_726F_6C6C  # b"mcparoll": one compactor at a time per database
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ATTEMPT_KEYS = ("brand", "currency", "outcome", "decline_code")
ANALYZE_AFTER = 2_000  # rollup rows written by one compaction
TABLES = (
    analytics_revenue_deltas,
    analytics_revenue_rollups,
    analytics_attempt_deltas,
    analytics_attempt_rollups,
    analytics_customer_deltas,
    analytics_customer_rollups,
    analytics_customer_firsts,
    analytics_customer_months,
    analytics_customer_totals,
    analytics_currency_months,
    analytics_customer_month_groups,
)
DELTAS = (analytics_revenue_deltas, analytics_attempt_deltas, analytics_customer_deltas)

Piece = tuple[int, int, int, int]  # (bucket index, size, start, end): seconds since the epoch, [start, end)


def _seconds(at: datetime) -> int | None:
    delta = at - _EPOCH
    if delta.microseconds or delta.days < 0:
        return None
    seconds = delta.days * 86_400 + delta.seconds
    return seconds if seconds % QUARTER == 0 else None


def _split(start: int, end: int, sizes: Sequence[int]) -> list[tuple[int, int, int]]:
    if start >= end:
        return []
    size, finer = sizes[0], sizes[1:]
    first, last = -(-start // size) * size, end // size * size
    if first >= last:
        return _split(start, end, finer)
    return [*_split(start, first, finer), (size, first, last), *_split(last, end, finer)]


def pieces(buckets: Sequence[Bucket]) -> list[Piece] | None:
    """Each bucket as aligned pieces of the rollups' sizes; None when some bucket's ends are not on quarter hours."""
    found: list[Piece] = []
    for i, b in enumerate(buckets):
        start, end = _seconds(b.start), _seconds(b.end)
        if start is None or end is None:
            return None
        found.extend((i, size, s, e) for size, s, e in _split(start, end, SIZES))
    return found or None


def pieces_cte(found: Sequence[Piece]) -> CTE:
    table = values(
        column("i", Integer), column("size", Integer), column("s", BigInteger), column("e", BigInteger), name="pieces"
    )
    return table.data(list(found)).cte("pieces")


def _sizes(pg: bool) -> str:
    if pg:
        return "(VALUES " + ", ".join(f"({s})" for s in SIZES) + ") AS sizes(size)"
    return "(" + " UNION ALL ".join(f"SELECT {s} AS size" for s in SIZES) + ") AS sizes"


def _compaction(pg: bool, deltas: Table, rollups: Table, keys: Sequence[str], measures: Sequence[str]) -> list[str]:
    key_list, measure_list = ", ".join(keys), ", ".join(measures)
    sums = ", ".join(f"sum(m.{m})" for m in measures)
    added = ", ".join(f"{m} = {rollups.name}.{m} + excluded.{m}" for m in measures)
    source = "moved" if pg else deltas.name
    groups = ", ".join(str(n) for n in range(1, len(keys) + 3))
    upsert = (
        f"INSERT INTO {rollups.name} (size, bucket, {key_list}, {measure_list}) "
        f"SELECT sizes.size, m.at - m.at % sizes.size, {', '.join(f'm.{k}' for k in keys)}, {sums} "
        f"FROM {source} m CROSS JOIN {_sizes(pg)} WHERE true GROUP BY {groups} "
        f"ON CONFLICT (size, bucket, {key_list}) DO UPDATE SET {added}"
    )
    if pg:
        return [f"WITH moved AS (DELETE FROM {deltas.name} RETURNING at, {key_list}, {measure_list}) {upsert}"]
    return [upsert, f"DELETE FROM {deltas.name}"]


def _customer_compaction(pg: bool) -> list[str]:
    """The customer deltas into their months (one size: a month has no fixed length in seconds), into each
    customer's all-time totals (migration 0028) and each currency's months (0029) from the same deltas (both stay
    the customer months summed), and the
    months rows of the customers they touched rebuilt (customer_months.py). A sum that returns to zero stays as a
    row of zeros: readers keep only customers with payments, and removing them would mean scanning the rollup each
    time.

    PostgreSQL's one statement returns the customers it moved deltas of (the deltas committed meanwhile stay, and
    keep their customers read the exact way); they are written to a temporary table for the rebuild, which needs the
    upsert's result (a statement does not see its own CTEs' writes). SQLite rebuilds before it deletes the deltas."""
    d, r, t = analytics_customer_deltas.name, analytics_customer_rollups.name, analytics_customer_totals.name
    source = "moved" if pg else d

    def upsert(table: str, keys: str) -> str:
        return (
            f"INSERT INTO {table} ({keys}, payments, net) "
            f"SELECT {keys}, sum(payments), sum(net) FROM {source} WHERE true GROUP BY {keys} "
            f"ON CONFLICT ({keys}) DO UPDATE SET payments = {table}.payments + excluded.payments, "
            f"net = {table}.net + excluded.net"
        )

    months, totals = upsert(r, "month, customer_id, currency"), upsert(t, "customer_id, currency")
    currencies = upsert(analytics_currency_months.name, "month, currency")
    if pg:
        # One DELETE feeds both upserts (data-modifying CTEs): both get exactly the deltas it removed.
        moved = f"moved AS (DELETE FROM {d} RETURNING month, customer_id, currency, payments, net)"
        return [
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_TOUCHED} (customer_id varchar(40) PRIMARY KEY) ON COMMIT DROP",
            f"WITH {moved}, months AS ({months} RETURNING customer_id), totals AS ({totals}), "
            f"currencies AS ({currencies}) "
            f"INSERT INTO {_TOUCHED} SELECT DISTINCT customer_id FROM months ON CONFLICT DO NOTHING",
            f"ANALYZE {_TOUCHED}",
            *customer_months.rebuild(pg, f"SELECT customer_id FROM {_TOUCHED}"),
            f"DROP TABLE {_TOUCHED}",
        ]
    return [
        months,
        totals,
        currencies,
        *customer_months.rebuild(pg, f"SELECT customer_id FROM {d}"),
        f"DELETE FROM {d}",
    ]


_TOUCHED = "compacted_customers"


def _statements(pg: bool) -> list[str]:
    return [
        *_compaction(pg, analytics_revenue_deltas, analytics_revenue_rollups, ("currency",), ROLLUP_MEASURES),
        *_compaction(pg, analytics_attempt_deltas, analytics_attempt_rollups, ATTEMPT_KEYS, ("n",)),
    ]


_STATEMENTS = {pg: [text(s) for s in _statements(pg)] for pg in (False, True)}
_CUSTOMER_STATEMENTS = {pg: [text(s) for s in _customer_compaction(pg)] for pg in (False, True)}
# Only when there are customer deltas: PostgreSQL's compaction of them creates a temporary table (catalog rows
# written and removed on every run otherwise).
_ANY_CUSTOMER_DELTA = text(f"SELECT 1 FROM {analytics_customer_deltas.name} LIMIT 1")


async def pending(conn: AsyncConnection) -> int:
    """How many deltas wait to be compacted (at most a token count: the job only needs to know there are some)."""
    found = 0
    for table in DELTAS:
        query = text(f"SELECT count(*) FROM (SELECT 1 FROM {table.name} LIMIT 1000) AS d")
        found += int((await conn.execute(query)).scalar_one())
    return found


async def compact(conn: AsyncConnection) -> bool:
    """Move the committed deltas into the rollups, in the caller's transaction; False: another compactor holds the
    lock (PostgreSQL), and moves them."""
    pg = conn.dialect.name == "postgresql"
    if pg and not (await conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PG_LOCK})).scalar():
        return False
    statements = _STATEMENTS[pg]
    if (await conn.execute(_ANY_CUSTOMER_DELTA)).first() is not None:
        statements = [*statements, *_CUSTOMER_STATEMENTS[pg]]
    moved = 0
    for statement in statements:
        moved += max((await conn.execute(statement)).rowcount, 0)
    if pg and moved >= ANALYZE_AFTER:
        # After a backlog (a bulk load, the migration's backfill) the planner's statistics still count the deltas
        # just removed and miss the rollups just written: its estimates would then be far off (and switch JIT on,
        # half a second per query) until autovacuum came by.
        await conn.execute(text("ANALYZE " + ", ".join(t.name for t in TABLES)))
    return True
