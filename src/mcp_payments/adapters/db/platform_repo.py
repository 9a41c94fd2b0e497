"""Idempotency keys and the audit chain: the tool platform's tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver, marks
from mcp_payments.adapters.db.jobs_repo import claimable, claiming
from mcp_payments.adapters.db.tables import audit_head, audit_log, idempotency_keys
from mcp_payments.domain.audit import canonical_json
from mcp_payments.services.ports import AuditRecord, Claim, StoredCall

# Every mutating tool call runs these, on the driver (driver.py): SQLAlchemy's CPU per statement was
# more than the rest of the call. The rarer statements below stay in SQLAlchemy Core.
_KEY_COLUMNS = "principal, key, tool, request_hash, arguments, response, created_at, expires_at"
_ADD_KEY = f"INSERT INTO idempotency_keys ({_KEY_COLUMNS}) VALUES ({{}})"
_CLAIM_PG = _ADD_KEY.format(marks(True, 8)) + " ON CONFLICT DO NOTHING RETURNING key"
_ADD_KEY_SQLITE = _ADD_KEY.format(marks(False, 8))
_HOLDER = (
    "SELECT tool, request_hash, arguments, response, expires_at FROM idempotency_keys WHERE principal = {} AND key = {}"
)
_HOLDER_PG, _HOLDER_SQLITE = _HOLDER.format("$1", "$2"), _HOLDER.format("?", "?")
_COMPLETE = "UPDATE idempotency_keys SET response = {} WHERE principal = {} AND key = {}"
_COMPLETE_PG, _COMPLETE_SQLITE = _COMPLETE.format("$1", "$2", "$3"), _COMPLETE.format("?", "?", "?")
# Renew an expired key with the claim's values (1..8), only while it is expired at 7 (now).
_RENEW = (
    "UPDATE idempotency_keys SET tool = {2}, request_hash = {3}, arguments = {4}, response = {5}, "
    "created_at = {6}, expires_at = {7} WHERE principal = {0} AND key = {1} AND expires_at <= {6} RETURNING key"
)
_RENEW_PG = _RENEW.format(*marks(True, 8).split(", "))
_RENEW_SQLITE = _RENEW.format(*(f"?{i}" for i in range(1, 9)))  # SQLite's numbered placeholders
_LOCK_HEAD = "SELECT seq, hash FROM audit_head WHERE id = 1"
_LOCK_HEAD_PG = _LOCK_HEAD + " FOR UPDATE"
# PostgreSQL appends and moves the head in one round trip.
_APPEND_PG = """
WITH appended AS (
    INSERT INTO audit_log (seq, at, principal, tool, record, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)
)
UPDATE audit_head SET seq = $1, hash = $7 WHERE id = 1
"""
_APPEND_SQLITE = f"INSERT INTO audit_log (seq, at, principal, tool, record, prev_hash, hash) VALUES ({marks(False, 7)})"
_MOVE_HEAD_SQLITE = "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1"


class SqlIdempotency:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.driver = driver
        self.pg = driver.dialect == "postgresql"
        self._holder = _HOLDER_PG if self.pg else _HOLDER_SQLITE
        self._complete = _COMPLETE_PG if self.pg else _COMPLETE_SQLITE

    async def claim(self, principal: str, key: str, call: StoredCall, now: datetime) -> StoredCall | None:
        driver = self.driver
        values = (
            principal,
            key,
            call.tool,
            call.request_hash,
            canonical_json(call.arguments),
            "{}",
            driver.time_param(now),
            driver.time_param(call.expires_at),
        )
        if self.pg and await driver.fetch(_CLAIM_PG, *values):
            # Claimed. Had another call held the key, the insert would have waited for it to commit or roll back.
            return None
        holders = await driver.fetch(self._holder, principal, key)
        if not holders:
            await driver.fetch(_ADD_KEY_SQLITE, *values)  # SQLite: the write lock keeps the key ours meanwhile
            return None
        tool, request_hash, arguments, response, expires_at = holders[0]
        expires_at = driver.time_value(expires_at)
        if expires_at > now:
            return StoredCall(tool, request_hash, json.loads(arguments), json.loads(response), expires_at)
        # Replace the holder only while it is still expired: a concurrent call may have renewed the key
        # while this one waited for the row lock, and then that call's result is the one to return.
        if not await driver.fetch(_RENEW_PG if self.pg else _RENEW_SQLITE, *values):
            return await self.claim(principal, key, call, now)
        return None

    async def complete(self, principal: str, key: str, response: dict[str, Any]) -> None:
        await self.driver.fetch(self._complete, canonical_json(response), principal, key)

    async def claim_expired(self, claim: Claim) -> list[tuple[str, str]]:
        k = idempotency_keys
        query = select(k.c.principal, k.c.key).where(*_expired(claim)).order_by(k.c.expires_at)
        return [(principal, key) for principal, key in await self.conn.execute(claiming(query, claim, self.pg))]

    async def delete(self, principal: str, key: str) -> None:
        k = idempotency_keys
        await self.conn.execute(delete(k).where(k.c.principal == principal, k.c.key == key))

    async def oldest_expiry(self, claim: Claim) -> datetime | None:
        query = select(func.min(idempotency_keys.c.expires_at)).where(*_expired(claim))
        oldest: datetime | None = (await self.conn.execute(query)).scalar_one()
        return oldest


def _expired(claim: Claim) -> tuple[ColumnElement[bool], ...]:
    # A key's item id is its key alone: keys are hashes, and two principals' equal keys expire alike.
    return idempotency_keys.c.expires_at <= claim.now, claimable(claim, idempotency_keys.c.key)


class SqlAudit:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.driver = driver
        self.pg = driver.dialect == "postgresql"

    async def lock_head(self) -> tuple[int, str]:
        # On SQLite the write lock (BEGIN IMMEDIATE) already orders appends.
        seq, head = (await self.driver.fetch(_LOCK_HEAD_PG if self.pg else _LOCK_HEAD))[0]
        return int(seq), str(head)

    async def head(self) -> tuple[int, str]:
        seq, head = (await self.conn.execute(select(audit_head.c.seq, audit_head.c.hash))).one()
        return int(seq), str(head)

    async def hashes_at(self, seqs: Sequence[int]) -> dict[int, str]:
        if not seqs:
            return {}
        rows = await self.conn.execute(select(audit_log.c.seq, audit_log.c.hash).where(audit_log.c.seq.in_(seqs)))
        return {int(seq): str(digest) for seq, digest in rows}

    async def append(self, record: AuditRecord) -> None:
        body = record.record
        at = self.driver.time_param(datetime.fromisoformat(body["at"]))
        values = (record.seq, at, body["principal"], body["tool"], canonical_json(body), record.prev_hash, record.hash)
        if self.pg:
            await self.driver.fetch(_APPEND_PG, *values)
            return
        await self.driver.fetch(_APPEND_SQLITE, *values)
        await self.driver.fetch(_MOVE_HEAD_SQLITE, record.seq, record.hash)

    async def page(self, after: int | None, limit: int, tool: str | None) -> list[AuditRecord]:
        """Newest first; `after` continues below that sequence number."""
        query = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
        if after is not None:
            query = query.where(audit_log.c.seq < after)
        if tool is not None:
            query = query.where(audit_log.c.tool == tool)
        return [_record(r) for r in await self.conn.execute(query)]

    async def scan(self, after: int, limit: int) -> list[AuditRecord]:
        query = select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(limit)
        return [_record(r) for r in await self.conn.execute(query)]


def _record(row: Any) -> AuditRecord:
    record = json.loads(row.record)
    # The indexed columns repeat fields of the hashed record (get_audit_log filters on `tool`). When they
    # disagree, one was changed behind the chain's back: return both, so that the record cannot verify.
    if record.get("principal") != row.principal or record.get("tool") != row.tool:
        record["stored_columns"] = {"principal": row.principal, "tool": row.tool}
    return AuditRecord(int(row.seq), record, row.prev_hash, row.hash)
