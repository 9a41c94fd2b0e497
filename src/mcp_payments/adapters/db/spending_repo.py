"""Spending policies, the spend they count and the per-principal lock (domain/limits.py, services/controls.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.tables import POLICY_AMOUNTS, spend_records, spending_policies
from mcp_payments.domain.limits import DAY, MINUTE, MONTH, Counts, Policy, Usage
from mcp_payments.services.ports import SpendRecord

# PostgreSQL: an upsert that takes the row's lock whether it inserts it or finds it (a concurrent insert of the
# same new row waits for the first to commit, then locks it too). SQLite needs none: it has one writer at a time.
_LOCK_PG = (
    "INSERT INTO spend_locks (principal, currency) VALUES ($1, $2) "
    "ON CONFLICT (principal, currency) DO UPDATE SET currency = EXCLUDED.currency"
)


class SqlSpending:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.driver = driver
        self.pg = driver.dialect == "postgresql"

    async def policies(self, subjects: Sequence[str], currency: str | None = None) -> list[Policy]:
        query = select(spending_policies).where(spending_policies.c.subject.in_(list(subjects)))
        if currency is not None:
            query = query.where(spending_policies.c.currency == currency)
        rows = await self.conn.execute(query.order_by(spending_policies.c.subject, spending_policies.c.currency))
        return [_policy(row) for row in rows]

    async def all_policies(self) -> list[Policy]:
        order = (spending_policies.c.subject, spending_policies.c.currency)
        return [_policy(row) for row in await self.conn.execute(select(spending_policies).order_by(*order))]

    async def put_policy(self, policy: Policy) -> None:
        await self.delete_policy(policy.subject, policy.currency)
        await self.conn.execute(insert(spending_policies).values(_row(policy)))

    async def delete_policy(self, subject: str, currency: str) -> bool:
        where = and_(spending_policies.c.subject == subject, spending_policies.c.currency == currency)
        result = await self.conn.execute(delete(spending_policies).where(where))
        return bool(result.rowcount)

    async def lock(self, principal: str, currency: str) -> None:
        if self.pg:
            await self.driver.fetch(_LOCK_PG, principal, currency)

    async def usage(self, principal: str, currency: str, payee: str | None, now: datetime) -> Usage:
        r = spend_records.c
        day, minute = r.at > now - DAY, r.at > now - MINUTE
        spend, refund = r.counts == Counts.SPEND.value, r.counts == Counts.REFUND.value

        def total(*conditions: Any) -> Any:
            return func.coalesce(func.sum(case((and_(*conditions), r.amount), else_=0)), 0)

        query = select(
            total(spend, day),
            total(spend),
            total(spend, day, r.payee == payee) if payee is not None else literal(0),
            total(refund, day),
            func.coalesce(func.sum(case((minute, 1), else_=0)), 0),
        ).where(r.principal == principal, r.currency == currency, r.at > now - MONTH)
        row = (await self.conn.execute(query)).one()
        return Usage(*(int(value) for value in row))

    async def counted(
        self, principal: str, currency: str, counts: Counts | None, payee: str | None, since: datetime
    ) -> list[tuple[datetime, int]]:
        r = spend_records.c
        query = select(r.at, r.amount).where(r.principal == principal, r.currency == currency, r.at > since)
        if counts is not None:
            query = query.where(r.counts == counts.value)
        if payee is not None:
            query = query.where(r.payee == payee)
        return [(row.at, int(row.amount)) for row in await self.conn.execute(query.order_by(r.at))]

    async def record(self, spend: SpendRecord) -> None:
        await self.conn.execute(
            insert(spend_records).values(
                principal=spend.principal,
                currency=spend.currency,
                counts=spend.counts.value,
                amount=spend.amount,
                payee=spend.payee,
                tool=spend.tool,
                at=spend.at,
            )
        )


def _row(policy: Policy) -> dict[str, Any]:
    return {
        "subject": policy.subject,
        "currency": policy.currency,
        **{name: getattr(policy, name) for name in POLICY_AMOUNTS},
        "velocity": policy.velocity,
        "approval_above": policy.approval_above,
        "allowed_payees": None if policy.allowed_payees is None else json.dumps(sorted(policy.allowed_payees)),
        "denied_payees": json.dumps(sorted(policy.denied_payees)),
        "expires_at": policy.expires_at,
        "updated_at": policy.updated_at,
        "updated_by": policy.updated_by,
    }


def _policy(row: Any) -> Policy:
    allowed = None if row.allowed_payees is None else frozenset(json.loads(row.allowed_payees))
    return Policy(
        subject=row.subject,
        currency=row.currency,
        **{name: getattr(row, name) for name in POLICY_AMOUNTS},
        velocity=row.velocity,
        approval_above=row.approval_above,
        allowed_payees=allowed,
        denied_payees=frozenset(json.loads(row.denied_payees)),
        expires_at=row.expires_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )
