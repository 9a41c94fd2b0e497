"""Compliance flags, the payees a screening let money go to, and the wallet entries the AML rules read."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Select, case, func, literal, select, union_all, update
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
from mcp_payments.services.compliance_ports import Activity, ActivityQuery, Posted

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

    async def activity(self, query: ActivityQuery) -> list[Activity]:
        # One statement (UNION ALL) for the whole call: the money path's round trips are counted
        # (tests/server/test_round_trips.py). Rows: c (a current entry), b (a band entry), t (a wallet's totals).
        e, t = entries, journal_transactions
        ours = e.c.transaction_id.in_(query.transaction_ids)
        theirs = e.c.transaction_id.not_in(query.transaction_ids)
        wallets = e.c.account_id.in_(query.wallet_ids)
        zero = literal(0, BigInteger)
        fast = t.c.created_at >= query.fast_since
        through = t.c.created_at >= query.through_since
        joined = e.join(t, t.c.id == e.c.transaction_id)

        def entry_rows(kind: str, *where: Any) -> Select[Any]:
            columns = (e.c.transaction_id, e.c.amount, e.c.currency, t.c.created_at, zero, zero, zero, zero)
            return select(literal(kind), e.c.account_id, *columns).select_from(joined).where(wallets, *where)

        def total(condition: Any, value: Any) -> Any:
            return func.coalesce(func.sum(case((condition, value), else_=0)), 0)

        totals = (
            select(
                literal("t"),
                e.c.account_id,
                func.min(e.c.transaction_id),
                zero,
                func.min(e.c.currency),
                func.min(t.c.created_at),
                total(fast, 1),
                total(fast, func.abs(e.c.amount)),
                total(through & (e.c.amount > 0), e.c.amount),
                total(through & (e.c.amount < 0), -e.c.amount),
            )
            .select_from(joined)
            .where(wallets, theirs, t.c.created_at >= min(query.fast_since, query.through_since))
            .group_by(e.c.account_id)
        )
        band = entry_rows(
            "b",
            theirs,
            t.c.created_at >= query.band_since,
            (e.c.amount >= query.band_minor) | (e.c.amount <= -query.band_minor),
        )
        found: dict[str, Activity] = {w: Activity(w) for w in query.wallet_ids}
        for kind, wallet_id, txn, amount, code, at, count, moved, arrived, left in await self.conn.execute(
            union_all(entry_rows("c", ours), band, totals)
        ):
            activity = found[wallet_id]
            if kind == "t":
                activity.fast_count, activity.fast_moved = int(count), int(moved)
                activity.arrived, activity.left = int(arrived), int(left)
            else:
                (activity.current if kind == "c" else activity.band).append(Posted(txn, amount, code, _aware(at)))
        for activity in found.values():
            activity.band.sort(key=lambda p: p.at)
        return [a for a in found.values() if a.current]

    async def customer_payments(self, customer_id: str, since: datetime) -> list[Posted]:
        p = payments
        query = (
            select(p.c.id, p.c.amount, p.c.currency, p.c.created_at)
            .where(p.c.customer_id == customer_id, p.c.created_at >= since)
            .order_by(p.c.created_at, p.c.id)
        )
        return [_posted(r) for r in await self.conn.execute(query)]

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


def _aware(at: datetime | str) -> datetime:
    # A UNION's column loses the UTCDateTime type on SQLite: its text comes back as stored, naive UTC.
    value = datetime.fromisoformat(at) if isinstance(at, str) else at
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


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
