"""Row counts of every table, to prove that a rejected call wrote nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy import func, select

from mcp_payments.adapters.db import tables
from mcp_payments.adapters.db.engine import open_database

RowCounts = dict[str, int]
# What a running server writes on its own whatever the calls do: the sealer records a run when it links records
# into the chain, and every process flushes its call metrics (refusals included) every few seconds. Neither is a
# write of the call, so both are left out of "this call wrote nothing".
# The analytics rollups' compaction job moves deltas into rollups on its own too (a call's deltas only come with its
# rows in the base tables, which are checked).
BACKGROUND = frozenset(
    {
        "job_runs",
        "tool_call_stats",
        "analytics_revenue_deltas",
        "analytics_revenue_rollups",
        "analytics_attempt_deltas",
        "analytics_attempt_rollups",
    }
)


@asynccontextmanager
async def row_counter(db_url: str) -> AsyncIterator[Callable[[], Awaitable[RowCounts]]]:
    """A function that counts the rows of every table in the schema (its own connection, read only)."""
    db = open_database(db_url)

    async def count() -> RowCounts:
        async with db.reader.connect() as conn:
            return {
                table.name: int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
                for table in tables.metadata.sorted_tables
                if table.name not in BACKGROUND
            }

    try:
        yield count
    finally:
        await db.dispose()
