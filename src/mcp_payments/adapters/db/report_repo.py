"""The compliance report's reads: grouped counts and capped lists of a period, aggregated by the database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.tables import compliance_flags, customers, risk_assessments, screenings
from mcp_payments.services.report_ports import Count, Erased, FlagLine

f, s, c, r = compliance_flags, screenings, customers, risk_assessments


class SqlReport:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn

    async def flag_counts(self, start: datetime, end: datetime) -> list[Count]:
        keys = (f.c.rule, f.c.status, func.coalesce(f.c.disposition, ""))
        query = (
            select(*keys, func.count())
            .where(f.c.created_at >= start, f.c.created_at < end)
            .group_by(*keys)
            .order_by(*keys)
        )
        return [Count((row[0], row[1], row[2]), int(row[3])) for row in await self.conn.execute(query)]

    async def flags(self, start: datetime, end: datetime, rule: str | None, limit: int) -> list[FlagLine]:
        query = select(f).where(f.c.created_at >= start, f.c.created_at < end)
        if rule is not None:
            query = query.where(f.c.rule == rule)
        rows = await self.conn.execute(query.order_by(f.c.created_at, f.c.id).limit(limit))
        return [_flag(row._mapping) for row in rows]

    async def screening_counts(self, start: datetime, end: datetime) -> list[Count]:
        keys = (s.c.decision, s.c.list_sha256)
        query = (
            select(*keys, func.count())
            .where(s.c.screened_at >= start, s.c.screened_at < end)
            .group_by(*keys)
            .order_by(*keys)
        )
        return [Count((row[0], row[1]), int(row[2])) for row in await self.conn.execute(query)]

    async def erasure_count(self, start: datetime, end: datetime) -> int:
        query = select(func.count()).where(c.c.erased_at >= start, c.c.erased_at < end)
        return int((await self.conn.execute(query)).scalar_one())

    async def erasures(self, start: datetime, end: datetime, limit: int) -> list[Erased]:
        # Ids and times only: an erased customer's name is a pseudonym, and the report needs neither.
        query = (
            select(c.c.id, c.c.erased_at)
            .where(c.c.erased_at >= start, c.c.erased_at < end)
            .order_by(c.c.erased_at, c.c.id)
            .limit(limit)
        )
        return [Erased(row[0], _aware(row[1])) for row in await self.conn.execute(query)]

    async def fraud_counts(self, start: datetime, end: datetime) -> list[Count]:
        query = (
            select(r.c.decision, func.count())
            .where(r.c.created_at >= start, r.c.created_at < end)
            .group_by(r.c.decision)
            .order_by(r.c.decision)
        )
        return [Count((row[0],), int(row[1])) for row in await self.conn.execute(query)]


def _flag(row: Any) -> FlagLine:
    details = json.loads(row["details"])
    amount = details.get("amount_usd") if isinstance(details, dict) else None
    return FlagLine(
        id=row["id"],
        rule=row["rule"],
        status=row["status"],
        disposition=row["disposition"],
        subject=row["subject"],
        transaction_ids=tuple(json.loads(row["transaction_ids"])),
        amount_usd=None if amount is None else str(amount),
        created_at=_aware(row["created_at"]),
        resolved_at=None if row["resolved_at"] is None else _aware(row["resolved_at"]),
    )


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
