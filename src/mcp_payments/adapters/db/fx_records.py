"""FX conversion records: written with their journal transaction."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.tables import fx_conversions
from mcp_payments.domain import fx


async def add(conn: AsyncConnection, record: fx.ConversionRecord) -> None:
    c = record.conversion
    await conn.execute(
        insert(fx_conversions).values(
            transaction_id=record.transaction_id,
            source_wallet_id=record.source_wallet_id,
            target_wallet_id=record.target_wallet_id,
            source_currency=c.source.currency.code,
            target_currency=c.target.currency.code,
            rate=fx.rate_text(c.rate),
            source_amount=c.source.minor,
            source_used=c.used.minor,
            residue=c.residue.minor,
            target_amount=c.target.minor,
        )
    )
