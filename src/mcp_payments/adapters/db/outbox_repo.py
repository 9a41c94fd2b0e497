"""The sandbox provider's outbox: events it queued, in the transaction of the change that caused them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.jobs_repo import claimable, claiming
from mcp_payments.adapters.db.tables import provider_outbox
from mcp_payments.services.ports import Claim, OutboundEvent

o = provider_outbox


class SqlProviderOutbox:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.pg = driver.dialect == "postgresql"

    async def add(self, event: OutboundEvent) -> None:
        await self.conn.execute(
            insert(o).values(event_id=event.id, type=event.type, body=event.body.decode(), created_at=event.created_at)
        )

    async def claim(self, claim: Claim) -> list[OutboundEvent]:
        query = select(o).where(claimable(claim, o.c.event_id)).order_by(o.c.seq)
        rows = await self.conn.execute(claiming(query, claim, self.pg))
        return [OutboundEvent(r.event_id, r.type, r.body.encode(), r.created_at) for r in rows]

    async def delivered(self, event_id: str) -> None:
        await self.conn.execute(delete(o).where(o.c.event_id == event_id))

    async def oldest(self, claim: Claim) -> datetime | None:
        oldest: datetime | None = (
            await self.conn.execute(select(func.min(o.c.created_at)).where(claimable(claim, o.c.event_id)))
        ).scalar_one()
        return oldest
