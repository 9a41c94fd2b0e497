"""Mandates (domain/mandates.py): the grant, what it has spent this period, its revocation."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.tables import mandates
from mcp_payments.domain.mandates import Mandate, Period, Status


class SqlMandates:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.pg = driver.dialect == "postgresql"

    async def add(self, mandate: Mandate) -> None:
        await self.conn.execute(insert(mandates).values(_row(mandate)))

    async def get(self, mandate_id: str, *, lock: bool = False) -> Mandate | None:
        query = select(mandates).where(mandates.c.id == mandate_id)
        if lock and self.pg:
            query = query.with_for_update()  # SQLite: the write lock (BEGIN IMMEDIATE) already serializes writers
        row = (await self.conn.execute(query)).first()
        return _mandate(row) if row else None

    async def save_debit(self, mandate: Mandate) -> None:
        where = mandates.c.id == mandate.id
        await self.conn.execute(
            update(mandates).where(where).values(spent=mandate.spent, period_start=mandate.period_start)
        )

    async def revoke(self, mandate_id: str, at: datetime, by: str) -> None:
        await self.conn.execute(
            update(mandates).where(mandates.c.id == mandate_id).values(revoked_at=at, revoked_by=by)
        )

    async def search(
        self, principal: str | None, status: Status | None, now: datetime, before: str | None, limit: int
    ) -> list[Mandate]:
        m = mandates.c
        query = select(mandates).order_by(m.id.desc()).limit(limit)
        if status is Status.REVOKED:
            query = query.where(m.revoked_at.is_not(None))
        elif status is Status.EXPIRED:
            query = query.where(m.revoked_at.is_(None), m.expires_at <= now)
        elif status is Status.ACTIVE:
            query = query.where(m.revoked_at.is_(None), m.expires_at > now)
        if principal is not None:
            query = query.where(mandates.c.principal == principal)
        if before is not None:
            query = query.where(mandates.c.id < before)
        return [_mandate(r) for r in await self.conn.execute(query)]


def _row(m: Mandate) -> dict[str, Any]:
    return {
        "id": m.id,
        "principal": m.principal,
        "currency": m.currency,
        "description": m.description,
        "allowed_payees": None if m.allowed_payees is None else json.dumps(sorted(m.allowed_payees)),
        "max_per_payment": m.max_per_payment,
        "max_total": m.max_total,
        "period": m.period.value,
        "spent": m.spent,
        "period_start": m.period_start or m.created_at,
        "expires_at": m.expires_at,
        "created_at": m.created_at,
        "created_by": m.created_by,
        "revoked_at": m.revoked_at,
        "revoked_by": m.revoked_by,
    }


def _mandate(row: Any) -> Mandate:
    return Mandate(
        id=row.id,
        principal=row.principal,
        currency=row.currency,
        description=row.description,
        max_per_payment=int(row.max_per_payment),
        max_total=int(row.max_total),
        period=Period(row.period),
        expires_at=row.expires_at,
        created_at=row.created_at,
        created_by=row.created_by,
        allowed_payees=None if row.allowed_payees is None else frozenset(json.loads(row.allowed_payees)),
        spent=int(row.spent),
        period_start=row.period_start,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )
