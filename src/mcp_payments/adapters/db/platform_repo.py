"""Idempotency keys and the audit log: the tool platform's tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver, PgDriver, marks, pg_call
from mcp_payments.adapters.db.jobs_repo import claimable, claiming
from mcp_payments.adapters.db.tables import audit_head, audit_log, idempotency_keys
from mcp_payments.domain.audit import canonical_json
from mcp_payments.services.ports import AuditLink, AuditRecord, Claim, StoredCall

# Every mutating tool call runs these, on the driver (driver.py): SQLAlchemy's CPU per statement was
# more than the rest of the call. The rarer statements below stay in SQLAlchemy Core.
_KEY_COLUMNS = "principal, key, tool, request_hash, arguments, response, created_at, expires_at"
_ADD_KEY = f"INSERT INTO idempotency_keys ({_KEY_COLUMNS}) VALUES ({{}})"
_NO_CLAIM = " ON CONFLICT DO NOTHING"
_CLAIM_PG = _ADD_KEY.format(marks(True, 8)) + _NO_CLAIM + " RETURNING key"
# PREPAREd once per connection (PgDriver.prepare) and run with literal values in a query of several statements:
# BEGIN with the claim, the completion with COMMIT.
_CLAIM_PREPARED = (
    "mcpp_claim_key",
    "text, text, text, text, text, text, timestamptz, timestamptz",
    _ADD_KEY.format(marks(True, 8)) + _NO_CLAIM,
)
_HOLDER = (
    "SELECT tool, request_hash, arguments, response, expires_at FROM idempotency_keys WHERE principal = {} AND key = {}"
)
_HOLDER_PG, _HOLDER_SQLITE = _HOLDER.format("$1", "$2"), _HOLDER.format("?", "?")
# SQLite: a key's row, written once with its response (over an expired holder's).
_PUT_KEY_SQLITE = _ADD_KEY.format(marks(False, 8)) + (
    " ON CONFLICT (principal, key) DO UPDATE SET tool = excluded.tool, request_hash = excluded.request_hash, "
    "arguments = excluded.arguments, response = excluded.response, created_at = excluded.created_at, "
    "expires_at = excluded.expires_at"
)
# PostgreSQL: renew an expired key with the claim's values (1..8), only while it is expired at 7 (now).
_RENEW_PG = (
    "UPDATE idempotency_keys SET tool = $3, request_hash = $4, arguments = $5, response = $6, "
    "created_at = $7, expires_at = $8 WHERE principal = $1 AND key = $2 AND expires_at <= $7 RETURNING key"
)
# A call appends its audit record with its idempotency completion, on PostgreSQL in one statement sent with COMMIT.
_APPEND = "INSERT INTO audit_log (id, at, principal, tool, record) VALUES ({})"
_APPEND_PG, _APPEND_SQLITE = _APPEND.format(marks(True, 5)), _APPEND.format(marks(False, 5))
_COMPLETE_AND_APPEND_PREPARED = (
    "mcpp_complete_key",
    "text, text, text, text, timestamptz, text, text, text",
    f"WITH appended AS ({_APPEND.format('$4, $5, $6, $7, $8')}) "
    "UPDATE idempotency_keys SET response = $1 WHERE principal = $2 AND key = $3",
)
# The sealer's claim: unsealed records in id order, but those its job's failures hold back (parked, or before their
# retry unless the claim counts waiting ones: $3 false) and those handled already in this pass (the skip list).
_UNSEALED = """
SELECT a.id, a.principal, a.tool, a.record FROM audit_log a
WHERE a.seq IS NULL AND {not_skipped} AND NOT EXISTS (
    SELECT 1 FROM job_failures f
    WHERE f.job = {job} AND f.item_id = a.id AND (f.parked OR ({not_waiting} AND f.retry_at > {now}))
)
ORDER BY a.id LIMIT {limit}
"""
_UNSEALED_PG = _UNSEALED.format(not_skipped="a.id <> ALL($5::text[])", job="$1", now="$2", not_waiting="$3", limit="$4")
_UNSEALED_SQLITE = _UNSEALED.format(
    not_skipped="a.id NOT IN (SELECT value FROM json_each(?5))", job="?1", now="?2", not_waiting="?3", limit="?4"
)
_LOCK_HEAD_SQLITE = "SELECT seq, hash FROM audit_head WHERE id = 1"  # the write lock makes the sealer the only writer
_LOCK_HEAD_PG = _LOCK_HEAD_SQLITE + " FOR UPDATE SKIP LOCKED"  # held: another sealer is at work, nothing to do
# Seal a batch and move the head in one statement; the head moves only if every record was still unsealed.
_SEAL_PG = """
WITH sealed AS (
    UPDATE audit_log a SET seq = l.seq, prev_hash = l.prev_hash, hash = l.hash
    FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) AS l(id, seq, prev_hash, hash)
    WHERE a.id = l.id AND a.seq IS NULL
    RETURNING a.id
)
UPDATE audit_head SET seq = $5, hash = $6 WHERE id = 1 AND (SELECT count(*) FROM sealed) = $7 RETURNING seq
"""
_SEAL_SQLITE = "UPDATE audit_log SET seq = ?, prev_hash = ?, hash = ? WHERE id = ? AND seq IS NULL RETURNING id"
_MOVE_HEAD_SQLITE = "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1"


class SqlIdempotency:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.driver = driver
        self.pg = driver.dialect == "postgresql"
        self._pg_driver = driver if isinstance(driver, PgDriver) else None
        self._claimed: dict[tuple[str, str], tuple[Any, ...]] = {}  # SQLite: keys this transaction holds, unwritten

    async def claim(
        self, principal: str, key: str, call: StoredCall, now: datetime, *, begin: bool = False
    ) -> StoredCall | None:
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
        if (pg := self._pg_driver) is None:
            return await self._claim_sqlite(values, now, begin=begin)
        # Had another call held the key, the insert would have waited for it to commit or roll back.
        if begin:
            # BEGIN and the claim in one round trip: a query of two statements cannot take parameters, so the
            # values are written in as escaped literals (driver.pg_literal) to the statement PREPAREd for it. The
            # completion is PREPAREd now too: outside the transaction, in the connection's first call only.
            await pg.prepare(*_CLAIM_PREPARED)
            await pg.prepare(*_COMPLETE_AND_APPEND_PREPARED)
            claimed = await pg.begin_with(pg_call(_CLAIM_PREPARED[0], values))
        else:
            claimed = len(await pg.fetch(_CLAIM_PG, *values))
        if claimed:
            return None
        holders = await pg.fetch(_HOLDER_PG, principal, key)
        if not holders:
            return await self.claim(principal, key, call, now)  # the holder was purged meanwhile: claim again
        if (held := self._held(holders[0])).expires_at > now:
            return held
        # Replace the holder only while it is still expired: a concurrent call may have renewed the key
        # while this one waited for the row lock, and then that call's result is the one to return.
        if not await pg.fetch(_RENEW_PG, *values):
            return await self.claim(principal, key, call, now)
        return None

    async def _claim_sqlite(self, values: tuple[Any, ...], now: datetime, *, begin: bool) -> StoredCall | None:
        """SQLite has one writer: a write transaction (BEGIN IMMEDIATE) holds the key as surely as a row would, until
        it commits or rolls back. So the key is only looked up here, and its row written once, with the response,
        by complete(): not inserted, then rewritten."""
        if begin:
            await self.driver.begin(write=True)
        principal, key = values[0], values[1]
        holders = await self.driver.fetch(_HOLDER_SQLITE, principal, key)
        if holders and (held := self._held(holders[0])).expires_at > now:
            return held
        self._claimed[(principal, key)] = values  # free, or expired: complete() writes over it
        return None

    def _held(self, row: Sequence[Any]) -> StoredCall:
        tool, request_hash, arguments, response, expires_at = row
        return StoredCall(
            tool, request_hash, json.loads(arguments), json.loads(response), self.driver.time_value(expires_at)
        )

    async def complete(self, principal: str, key: str, response: dict[str, Any], audit: AuditRecord) -> None:
        appended = _appended(self.driver, audit)
        if (pg := self._pg_driver) is not None:
            # Sent with the COMMIT, in its round trip (PgDriver.defer): the completion is a call's last statement.
            await pg.prepare(*_COMPLETE_AND_APPEND_PREPARED)
            pg.defer(pg_call(_COMPLETE_AND_APPEND_PREPARED[0], (canonical_json(response), principal, key, *appended)))
            return
        await self.driver.fetch(_APPEND_SQLITE, *appended)
        claimed = self._claimed.pop((principal, key), None)
        if claimed is None:
            raise RuntimeError("complete() without claim() in this unit of work: the key is not held")
        await self.driver.fetch(_PUT_KEY_SQLITE, *claimed[:5], canonical_json(response), *claimed[6:])

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

    async def append(self, record: AuditRecord) -> None:
        await self.driver.fetch(_APPEND_PG if self.pg else _APPEND_SQLITE, *_appended(self.driver, record))

    async def append_many(self, records: Sequence[AuditRecord]) -> None:
        if records:
            rows = [_appended(self.driver, record) for record in records]
            await self.driver.execute_many(_APPEND_PG if self.pg else _APPEND_SQLITE, rows)

    async def head(self) -> tuple[int, str]:
        seq, head = (await self.conn.execute(select(audit_head.c.seq, audit_head.c.hash))).one()
        return int(seq), str(head)

    async def lock_head(self) -> tuple[int, str] | None:
        rows = await self.driver.fetch(_LOCK_HEAD_PG if self.pg else _LOCK_HEAD_SQLITE)
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    async def unsealed(self, claim: Claim) -> list[AuditRecord]:
        # jobs_repo.claimable's conditions as plain SQL of one text whatever the skip list holds: built through
        # SQLAlchemy, a NOT IN of a new length is a new statement, compiled and prepared on every sealer step.
        skip = sorted(claim.skip)
        args = (claim.job, self.driver.time_param(claim.now), not claim.waiting, claim.limit)
        if self.pg:
            rows = await self.driver.fetch(_UNSEALED_PG, *args, skip)
        else:
            rows = await self.driver.fetch(_UNSEALED_SQLITE, *args, json.dumps(skip))
        return [_record_of(id_, principal, tool, record) for id_, principal, tool, record in rows]

    async def seal(self, links: Sequence[AuditLink]) -> None:
        if not links:
            return
        last = links[-1]
        if self.pg:
            columns = ([link.id for link in links], [link.seq for link in links])
            hashes = ([link.prev_hash for link in links], [link.hash for link in links])
            if not await self.driver.fetch(_SEAL_PG, *columns, *hashes, last.seq, last.hash, len(links)):
                raise AlreadySealed("an audit record in this batch was sealed already: nothing was sealed")
            return
        for link in links:
            if not await self.driver.fetch(_SEAL_SQLITE, link.seq, link.prev_hash, link.hash, link.id):
                raise AlreadySealed(f"audit record {link.id} was sealed already")
        await self.driver.fetch(_MOVE_HEAD_SQLITE, last.seq, last.hash)

    async def unsealed_count(self) -> int:
        query = select(func.count()).select_from(audit_log).where(audit_log.c.seq.is_(None))
        return int((await self.conn.execute(query)).scalar_one())

    async def oldest_unsealed(self, claim: Claim) -> datetime | None:
        query = select(func.min(audit_log.c.at)).where(audit_log.c.seq.is_(None), claimable(claim, audit_log.c.id))
        oldest: datetime | None = (await self.conn.execute(query)).scalar_one()
        return oldest

    async def hashes_at(self, seqs: Sequence[int]) -> dict[int, str]:
        if not seqs:
            return {}
        rows = await self.conn.execute(select(audit_log.c.seq, audit_log.c.hash).where(audit_log.c.seq.in_(seqs)))
        return {int(seq): str(digest) for seq, digest in rows}

    async def by_ids(self, ids: Sequence[str]) -> dict[str, AuditRecord]:
        if not ids:
            return {}
        rows = await self.conn.execute(select(audit_log).where(audit_log.c.id.in_(ids)))
        return {row.id: _record(row) for row in rows}

    async def page(self, after: str | None, limit: int, tool: str | None) -> list[AuditRecord]:
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if after is not None:
            query = query.where(audit_log.c.id < after)
        if tool is not None:
            query = query.where(audit_log.c.tool == tool)
        return [_record(r) for r in await self.conn.execute(query)]

    async def scan(self, after: int, limit: int) -> list[AuditRecord]:
        query = select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(limit)
        return [_record(r) for r in await self.conn.execute(query)]

    async def scan_all(self, after: str | None, limit: int) -> list[AuditRecord]:
        query = select(audit_log).order_by(audit_log.c.id).limit(limit)
        if after is not None:
            query = query.where(audit_log.c.id > after)
        return [_record(r) for r in await self.conn.execute(query)]


class AlreadySealed(Exception):
    """Two sealers met on one record: the head lock should make that impossible, so nothing is sealed."""


def _appended(driver: Driver, record: AuditRecord) -> tuple[Any, ...]:
    body = record.record
    at = driver.time_param(datetime.fromisoformat(body["at"]))
    return record.id, at, body["principal"], body["tool"], canonical_json(body)


def _record(row: Any) -> AuditRecord:
    seq = None if row.seq is None else int(row.seq)
    return _record_of(row.id, row.principal, row.tool, row.record, seq, row.prev_hash, row.hash)


def _record_of(
    record_id: str,
    principal: str,
    tool: str,
    text: str,
    seq: int | None = None,
    prev_hash: str | None = None,
    digest: str | None = None,
) -> AuditRecord:
    record = _loads(text)
    # The indexed columns repeat fields of the hashed record (get_audit_log filters on `tool`). When they
    # disagree, one was changed behind the chain's back: return both, so that the record cannot verify.
    if record.get("principal") != principal or record.get("tool") != tool:
        record["stored_columns"] = {"principal": principal, "tool": tool}
    return AuditRecord(record_id, record, seq, prev_hash, digest)


def _loads(text: str) -> Any:
    """json.loads, at a fraction of the CPU (verify_audit_chain parses every record): orjson reads the same JSON
    the same way; what it refuses (an integer past 64 bits, NaN) goes to the standard library."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
