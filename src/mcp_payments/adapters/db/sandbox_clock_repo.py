"""The sandbox clock's one row (services/sandbox_clock.py): its offset in microseconds and the advance under way."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, case, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.tables import sandbox_clock
from mcp_payments.services.sandbox_clock import ClockState

_ROW = sandbox_clock.c.id == 1


class SqlSandboxClock:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.pg = driver.dialect == "postgresql"

    async def get(self, *, lock: bool = False) -> ClockState:
        query = select(sandbox_clock.c.offset_us, sandbox_clock.c.advancing_to).where(_ROW)
        if lock and self.pg:
            query = query.with_for_update()
        offset_us, advancing_to = (await self.conn.execute(query)).one()
        return ClockState(timedelta(microseconds=offset_us), advancing_to)

    async def start_advance(self, target: datetime, now: datetime) -> None:
        await self.conn.execute(update(sandbox_clock).where(_ROW).values(advancing_to=target, updated_at=now))

    async def move(self, offset: timedelta, now: datetime) -> None:
        wanted = literal(offset // timedelta(microseconds=1), BigInteger)
        column = sandbox_clock.c.offset_us
        larger = case((column < wanted, wanted), else_=column)
        await self.conn.execute(update(sandbox_clock).where(_ROW).values(offset_us=larger, updated_at=now))

    async def finish_advance(self, target: datetime, now: datetime) -> None:
        await self.conn.execute(
            update(sandbox_clock)
            .where(_ROW, sandbox_clock.c.advancing_to == target)
            .values(advancing_to=None, updated_at=now)
        )
