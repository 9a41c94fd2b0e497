"""The views' SQL: what the dashboard counts and adds up over every row (services/views.py)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.tables import accounts, approvals
from mcp_payments.domain.approvals import Status
from mcp_payments.domain.ledger import AccountType
from mcp_payments.services.views import WalletTotal


class SqlViews:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn

    async def wallet_totals(self) -> list[WalletTotal]:
        a = accounts.c
        rows = await self.conn.execute(
            select(a.currency, func.count(), func.sum(a.posted), func.sum(a.pending))
            .where(a.type == AccountType.WALLET.value)
            .group_by(a.currency)
            .order_by(a.currency)
        )
        return [WalletTotal(code, int(n), int(posted), int(pending)) for code, n, posted, pending in rows]

    async def pending_approvals(self, principal: str | None) -> int:
        query = select(func.count()).select_from(approvals).where(approvals.c.status == Status.PENDING.value)
        if principal is not None:
            query = query.where(approvals.c.principal == principal)
        return int((await self.conn.execute(query)).scalar_one())
