"""Monitoring's SQL: tool call statistics (added to by every process), marks, and authorization counts.

The statistics are written by each process's flush every few seconds, never by a tool call, and read by
get_tool_metrics and list_alerts as one row per (tool, outcome, latency bin): sums in the database, not rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db import journal_bindings
from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.tables import monitoring_marks, payment_attempts, tool_call_stats
from mcp_payments.services.monitoring_ports import Authorizations, BindingFindings, Mark
from mcp_payments.services.ports import ToolStat

# What a provider's answer to an authorization (or to its 3-D Secure confirmation) is recorded as.
_AUTHORIZING = ("authorize", "confirm")


class SqlToolStats:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.pg = driver.dialect == "postgresql"

    async def add(self, rows: Sequence[ToolStat]) -> None:
        upsert = pg_insert if self.pg else sqlite_insert
        statement = upsert(tool_call_stats)
        statement = statement.on_conflict_do_update(
            index_elements=[c.name for c in tool_call_stats.primary_key.columns],
            set_={"calls": tool_call_stats.c.calls + statement.excluded.calls},
        )
        values = [
            {"minute": r.minute, "tool": r.tool, "outcome": r.outcome, "bin": r.bin, "calls": r.calls} for r in rows
        ]
        await self.conn.execute(statement, values)

    async def since(self, minute: datetime) -> list[ToolStat]:
        t = tool_call_stats
        rows = await self.conn.execute(
            select(t.c.tool, t.c.outcome, t.c.bin, func.sum(t.c.calls))
            .where(t.c.minute >= minute)
            .group_by(t.c.tool, t.c.outcome, t.c.bin)
        )
        return [ToolStat(minute, tool, outcome, int(bin_index), int(calls)) for tool, outcome, bin_index, calls in rows]

    async def purge(self, before: datetime) -> None:
        await self.conn.execute(delete(tool_call_stats).where(tool_call_stats.c.minute < before))


class SqlMonitoring:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.driver = driver
        self.pg = driver.dialect == "postgresql"

    async def put_mark(self, mark: Mark) -> None:
        upsert = pg_insert if self.pg else sqlite_insert
        values = {"at": mark.at, "ok": mark.ok, "detail": mark.detail}
        statement = upsert(monitoring_marks).values(name=mark.name, **values)
        await self.conn.execute(statement.on_conflict_do_update(index_elements=["name"], set_=values))

    async def mark(self, name: str) -> Mark | None:
        row = (await self.conn.execute(select(monitoring_marks).where(monitoring_marks.c.name == name))).first()
        return Mark(row.name, row.at, bool(row.ok), row.detail) if row is not None else None

    async def authorizations(self, since: datetime, until: datetime) -> Authorizations:
        a = payment_attempts
        rows = await self.conn.execute(
            select(a.c.outcome, func.count())
            .where(
                a.c.action.in_(_AUTHORIZING),
                a.c.outcome.in_(("approved", "declined")),
                a.c.created_at > since,
                a.c.created_at <= until,
            )
            .group_by(a.c.outcome)
        )
        counts = {outcome: int(n) for outcome, n in rows}
        return Authorizations(counts.get("approved", 0), counts.get("declined", 0))

    async def journal_findings(self, limit: int) -> BindingFindings:
        return await journal_bindings.findings(self.driver, limit)
