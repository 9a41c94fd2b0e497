"""FX conversion records: written with their journal transaction, summed and checked by the integrity check."""

from __future__ import annotations

from fractions import Fraction

from sqlalchemy import ColumnElement, and_, case, distinct, func, insert, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.tables import entries, fx_conversions
from mcp_payments.domain import fx
from mcp_payments.domain.ledger import AccountType, system_account_id
from mcp_payments.domain.money import Money


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


async def positions(conn: AsyncConnection) -> list[fx.Position]:
    """Per direction of each pair: how many conversions, and the sums of what they took in, paid out and left."""
    c = fx_conversions.c
    rows = await conn.execute(
        select(
            c.source_currency,
            c.target_currency,
            func.count(),
            func.sum(c.source_used),
            func.sum(c.target_amount),
            func.sum(c.residue),
        )
        .group_by(c.source_currency, c.target_currency)
        .order_by(c.source_currency, c.target_currency)
    )
    return [fx.Position(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows]


async def all_records(conn: AsyncConnection) -> list[fx.ConversionRecord]:
    rows = await conn.execute(select(fx_conversions).order_by(fx_conversions.c.transaction_id))
    return [
        fx.ConversionRecord(
            r.transaction_id,
            r.source_wallet_id,
            r.target_wallet_id,
            fx.Conversion(
                Money.of(int(r.source_amount), r.source_currency),
                Money.of(int(r.target_amount), r.target_currency),
                Money.of(int(r.source_used), r.source_currency),
                Fraction(r.rate),
            ),
        )
        for r in rows
    ]


async def unmatched(conn: AsyncConnection) -> list[str]:
    """Conversions whose journal transaction does not have exactly the entries fx.entries() gives their record.

    Written apart from fx.entries() on purpose: a check that shared the posting code would share its
    mistakes. Every entry must be one of the expected ones, and each expected one must be there once
    (an entry is never zero, so the rounding entry matches nothing when there is no residue).
    """
    c, e = fx_conversions.c, entries.c

    def entry(
        account: ColumnElement[str], currency: ColumnElement[str], amount: ColumnElement[int]
    ) -> ColumnElement[bool]:
        return and_(e.account_id == account, e.currency == currency, e.amount == amount)

    expected = or_(
        entry(c.source_wallet_id, c.source_currency, -c.source_amount),
        entry(_system_account(AccountType.FX, c.source_currency), c.source_currency, c.source_used),
        entry(_system_account(AccountType.FX_ROUNDING, c.source_currency), c.source_currency, c.residue),
        entry(_system_account(AccountType.FX, c.target_currency), c.target_currency, -c.target_amount),
        entry(c.target_wallet_id, c.target_currency, c.target_amount),
    )
    wanted = case((c.residue > 0, 5), else_=4)
    rows = await conn.execute(
        select(c.transaction_id)
        .outerjoin(entries, e.transaction_id == c.transaction_id)
        .group_by(c.transaction_id, c.residue)
        .having(
            or_(
                func.count(e.id) != wanted,
                func.count(distinct(e.account_id)) != wanted,
                func.sum(case((expected, 1), else_=0)) != wanted,
            )
        )
        .order_by(c.transaction_id)
    )
    return [r[0] for r in rows]


def _system_account(type: AccountType, currency: ColumnElement[str]) -> ColumnElement[str]:
    """system_account_id() in SQL, for a currency column."""
    return literal(system_account_id(type, "")) + currency
