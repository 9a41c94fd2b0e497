"""API keys (domain/api_keys.py): the digest of each secret, its role, its dates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.rows import row_of
from mcp_payments.adapters.db.tables import api_keys
from mcp_payments.domain.api_keys import ApiKey
from mcp_payments.domain.roles import Role


class SqlApiKeys:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.pg = driver.dialect == "postgresql"

    async def add(self, key: ApiKey) -> None:
        await self.conn.execute(insert(api_keys).values(row_of(key)))

    async def get(self, key_id: str, *, lock: bool = False) -> ApiKey | None:
        query = select(api_keys).where(api_keys.c.id == key_id)
        if lock and self.pg:
            query = query.with_for_update()  # SQLite: the write lock (BEGIN IMMEDIATE) already serializes writers
        row = (await self.conn.execute(query)).first()
        return _key(row) if row else None

    async def all(self) -> list[ApiKey]:
        rows = await self.conn.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id))
        return [_key(r) for r in rows]

    async def revoke(self, key_id: str, at: datetime) -> None:
        await self.conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=at))

    async def touch(self, key_id: str, at: datetime) -> None:
        await self.conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=at))


def _key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        secret_sha256=row.secret_sha256,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
