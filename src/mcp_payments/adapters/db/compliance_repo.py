"""Compliance flags, the payees a screening let money go to, and the wallet entries the AML rules read."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.tables import (
    compliance_flags,
    entries,
    journal_transactions,
    known_payees,
    payments,
)
from mcp_payments.domain.compliance_flags import Disposition, Flag, FlagStatus, Rule
from mcp_payments.services.compliance_ports import Posted, Totals

f = compliance_flags


class SqlFlags:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.pg = driver.dialect == "postgresql"

    async def add(self, flag: Flag) -> bool:
        # One flag per key, also when two transactions raise it at once: the second inserts nothing.
        upsert = pg_insert if self.pg else sqlite_insert
        statement = upsert(f).values(_row(flag)).on_conflict_do_nothing().returning(f.c.id)
        return (await self.conn.execute(statement)).first() is not None

    async def get(self, flag_id: str, *, lock: bool = False) -> Flag | None:
        query = select(f).where(f.c.id == flag_id)
        if lock and self.pg:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        return None if row is None else _flag(row)

    async def resolve(self, flag: Flag) -> bool:
        values = {
            "status": flag.status.value,
            "resolved_by": flag.resolved_by,
            "resolved_at": flag.resolved_at,
            "disposition": None if flag.disposition is None else flag.disposition.value,
            "note": flag.note,
        }
        where = (f.c.id == flag.id) & (f.c.status == FlagStatus.OPEN.value)
        return bool((await self.conn.execute(update(f).where(where).values(values))).rowcount)

    async def page(
        self, status: FlagStatus | None, rule: Rule | None, since: datetime | None, after: str | None, limit: int
    ) -> list[Flag]:
        query = select(f)
        if status is not None:
            query = query.where(f.c.status == status.value)
        if rule is not None:
            query = query.where(f.c.rule == rule.value)
        if since is not None:
            query = query.where(f.c.created_at >= since)
        if after is not None:
            query = query.where(f.c.id > after)
        return [_flag(row) for row in await self.conn.execute(query.order_by(f.c.id).limit(limit))]

    async def entries_of(self, account_id: str, transaction_ids: Collection[str]) -> list[Posted]:
        query = _entries().where(entries.c.account_id == account_id, entries.c.transaction_id.in_(transaction_ids))
        return [_posted(r) for r in await self.conn.execute(query)]

    async def totals(self, account_id: str, since: datetime, excluding: Collection[str]) -> Totals:
        e, t = entries, journal_transactions
        query = (
            select(
                func.count(),
                func.coalesce(func.sum(case((e.c.amount > 0, e.c.amount), else_=0)), 0),
                func.coalesce(func.sum(case((e.c.amount < 0, -e.c.amount), else_=0)), 0),
            )
            .select_from(e.join(t, t.c.id == e.c.transaction_id))
            .where(e.c.account_id == account_id, t.c.created_at >= since, e.c.transaction_id.not_in(excluding))
        )
        count, arrived, left = (await self.conn.execute(query)).one()
        return Totals(int(count), int(arrived), int(left))

    async def at_least(self, account_id: str, since: datetime, minor: int, excluding: Collection[str]) -> list[Posted]:
        e = entries
        query = _entries().where(
            e.c.account_id == account_id,
            journal_transactions.c.created_at >= since,
            (e.c.amount >= minor) | (e.c.amount <= -minor),
            e.c.transaction_id.not_in(excluding),
        )
        return [_posted(r) for r in await self.conn.execute(query.order_by(e.c.id))]

    async def payments_of(self, payment_ids: Collection[str]) -> list[Posted]:
        p = payments
        query = select(p.c.id, p.c.amount, p.c.currency, p.c.created_at).where(p.c.id.in_(payment_ids))
        return [_posted(r) for r in await self.conn.execute(query)]

    async def payment_totals(
        self, customer_id: str, since: datetime, excluding: Collection[str]
    ) -> list[tuple[str, int, int]]:
        p = payments
        query = (
            select(p.c.currency, func.count(), func.sum(p.c.amount))
            .where(p.c.customer_id == customer_id, p.c.created_at >= since, p.c.id.not_in(excluding))
            .group_by(p.c.currency)
        )
        return [(code, int(count), int(total)) for code, count, total in await self.conn.execute(query)]

    async def known_payee(self, payee: str) -> bool:
        query = select(known_payees.c.payee).where(known_payees.c.payee == payee)
        return (await self.conn.execute(query)).first() is not None

    async def add_known_payee(self, payee: str, screening_id: str, now: datetime) -> None:
        upsert = pg_insert if self.pg else sqlite_insert
        row = {"payee": payee, "screening_id": screening_id, "first_paid_at": now}
        await self.conn.execute(upsert(known_payees).values(row).on_conflict_do_nothing())


def _posted(r: Any) -> Posted:
    transaction_id, amount, code, at = r
    return Posted(transaction_id, amount, code, at)


def _entries() -> Select[tuple[str, int, str, datetime]]:
    e, t = entries, journal_transactions
    return select(e.c.transaction_id, e.c.amount, e.c.currency, t.c.created_at).join(t, t.c.id == e.c.transaction_id)


def _row(flag: Flag) -> dict[str, Any]:
    return {
        "id": flag.id,
        "rule": flag.rule.value,
        "status": flag.status.value,
        "subject": flag.subject,
        "key": flag.key,
        "summary": flag.summary[:500],
        "principal": flag.principal,
        "transaction_ids": json.dumps(list(flag.transaction_ids)),
        "details": json.dumps(flag.details, sort_keys=True),
        "created_at": flag.created_at,
        "resolved_by": flag.resolved_by,
        "resolved_at": flag.resolved_at,
        "disposition": None if flag.disposition is None else flag.disposition.value,
        "note": flag.note,
    }


def _flag(row: Row[Any]) -> Flag:
    r = row._mapping
    flag = Flag(
        r["id"],
        Rule(r["rule"]),
        FlagStatus(r["status"]),
        r["subject"],
        r["key"],
        r["summary"],
        r["principal"],
        tuple(json.loads(r["transaction_ids"])),
        json.loads(r["details"]),
        r["created_at"],
    )
    if r["disposition"] is None:
        return flag
    return replace(
        flag,
        resolved_by=r["resolved_by"],
        resolved_at=r["resolved_at"],
        disposition=Disposition(r["disposition"]),
        note=r["note"],
    )
