"""Approvals: held calls, their stored commands and what became of them (domain/approvals.py)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.jobs_repo import claimable, claiming
from mcp_payments.adapters.db.tables import approvals
from mcp_payments.domain.approvals import Approval, Status
from mcp_payments.services.ports import Claim

_DECIDED = ("status", "decided_by", "decided_at", "reason", "error_code", "result", "decided_via")


class SqlApprovals:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.pg = driver.dialect == "postgresql"

    async def add(self, approval: Approval) -> None:
        await self.conn.execute(insert(approvals).values(_row(approval)))

    async def get(self, approval_id: str, *, lock: bool = False) -> Approval | None:
        query = select(approvals).where(approvals.c.id == approval_id)
        if lock and self.pg:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        return None if row is None else _approval(row)

    async def pending(self, principal: str | None, after: str | None, limit: int) -> list[Approval]:
        query = select(approvals).where(approvals.c.status == Status.PENDING.value)
        if principal is not None:
            query = query.where(approvals.c.principal == principal)
        if after is not None:
            query = query.where(approvals.c.id > after)
        rows = await self.conn.execute(query.order_by(approvals.c.id).limit(limit))
        return [_approval(row) for row in rows]

    async def finish(self, approval: Approval) -> bool:
        # Conditional on the row still pending: of two deciders at the same moment, one writes, the other sees 0.
        values = {name: value for name, value in _row(approval).items() if name in _DECIDED}
        where = (approvals.c.id == approval.id) & (approvals.c.status == Status.PENDING.value)
        result = await self.conn.execute(update(approvals).where(where).values(values))
        return bool(result.rowcount)

    async def store_result(self, approval_id: str, result: dict[str, Any]) -> None:
        values = {"result": json.dumps(result, sort_keys=True)}
        await self.conn.execute(update(approvals).where(approvals.c.id == approval_id).values(values))

    async def expired(self, claim: Claim) -> list[Approval]:
        query = select(approvals).where(*_expired(claim)).order_by(approvals.c.expires_at, approvals.c.id)
        return [_approval(row) for row in await self.conn.execute(claiming(query, claim, self.pg))]

    async def oldest_expired(self, claim: Claim) -> datetime | None:
        oldest: datetime | None = (
            await self.conn.execute(select(func.min(approvals.c.expires_at)).where(*_expired(claim)))
        ).scalar_one()
        return oldest


def _expired(claim: Claim) -> tuple[Any, ...]:
    c = approvals.c
    return c.status == Status.PENDING.value, c.expires_at <= claim.now, claimable(claim, c.id)


def _row(approval: Approval) -> dict[str, Any]:
    row = asdict(approval)
    row["status"] = approval.status.value
    row["arguments"] = json.dumps(approval.arguments, sort_keys=True)
    row["result"] = None if approval.result is None else json.dumps(approval.result, sort_keys=True)
    return row


def _approval(row: Any) -> Approval:
    values = dict(row._mapping)
    values["status"] = Status(values["status"])
    values["arguments"] = json.loads(values["arguments"])
    values["result"] = None if values["result"] is None else json.loads(values["result"])
    return Approval(**values)
