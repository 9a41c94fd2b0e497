"""Idempotency keys and the audit chain: the tool platform's tables."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.tables import audit_head, audit_log, idempotency_keys
from mcp_payments.domain.audit import canonical_json
from mcp_payments.services.ports import AuditRecord, StoredCall

# Every mutating tool call runs these. Built once, with the values bound at execution: building a
# statement with its values on each call cost more CPU than the rest of the call (benchmarks/transfers.py).
_KEY = (idempotency_keys.c.principal == bindparam("b_principal"), idempotency_keys.c.key == bindparam("b_key"))
_CLAIM_PG = pg_insert(idempotency_keys).on_conflict_do_nothing().returning(idempotency_keys.c.key)
_ADD_KEY = insert(idempotency_keys)
_HOLDER = select(idempotency_keys).where(*_KEY)
_COMPLETE = update(idempotency_keys).where(*_KEY).values(response=bindparam("b_response"))
_HEAD = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
_LOCK_HEAD_PG = _HEAD.with_for_update()
_APPEND = insert(audit_log)
_MOVE_HEAD = update(audit_head).where(audit_head.c.id == 1).values(seq=bindparam("b_seq"), hash=bindparam("b_hash"))


class SqlIdempotency:
    def __init__(self, conn: AsyncConnection, dialect: str) -> None:
        self.conn = conn
        self.pg = dialect == "postgresql"

    async def claim(self, principal: str, key: str, call: StoredCall, now: datetime) -> StoredCall | None:
        row = {
            "principal": principal,
            "key": key,
            "tool": call.tool,
            "request_hash": call.request_hash,
            "arguments": canonical_json(call.arguments),
            "response": "{}",
            "created_at": now,
            "expires_at": call.expires_at,
        }
        where = (idempotency_keys.c.principal == principal, idempotency_keys.c.key == key)
        if self.pg:
            # Waits for a concurrent holder of the same key to commit or roll back.
            claimed = await self.conn.execute(_CLAIM_PG, row)
            if claimed.first() is not None:
                return None
        holder = (await self.conn.execute(_HOLDER, {"b_principal": principal, "b_key": key})).first()
        if holder is not None and holder.expires_at > now:
            return StoredCall(
                holder.tool,
                holder.request_hash,
                json.loads(holder.arguments),
                json.loads(holder.response),
                holder.expires_at,
            )
        if holder is not None:
            # Replace the holder only while it is still expired: a concurrent call may have renewed the key
            # while this one waited for the row lock, and then that call's result is the one to return.
            renewed = await self.conn.execute(
                update(idempotency_keys).where(*where, idempotency_keys.c.expires_at <= now).values(row)
            )
            if renewed.rowcount == 0:
                return await self.claim(principal, key, call, now)
        else:
            await self.conn.execute(_ADD_KEY, row)
        return None

    async def complete(self, principal: str, key: str, response: dict[str, Any]) -> None:
        await self.conn.execute(
            _COMPLETE, {"b_principal": principal, "b_key": key, "b_response": canonical_json(response)}
        )

    async def purge_expired(self, now: datetime) -> int:
        result = await self.conn.execute(delete(idempotency_keys).where(idempotency_keys.c.expires_at <= now))
        return int(result.rowcount)


class SqlAudit:
    def __init__(self, conn: AsyncConnection, dialect: str) -> None:
        self.conn = conn
        self.pg = dialect == "postgresql"

    async def lock_head(self) -> tuple[int, str]:
        seq, head = (await self.conn.execute(_LOCK_HEAD_PG if self.pg else _HEAD)).one()
        return int(seq), str(head)

    async def head(self) -> tuple[int, str]:
        seq, head = (await self.conn.execute(select(audit_head.c.seq, audit_head.c.hash))).one()
        return int(seq), str(head)

    async def append(self, record: AuditRecord) -> None:
        body = record.record
        await self.conn.execute(
            _APPEND,
            {
                "seq": record.seq,
                "at": datetime.fromisoformat(body["at"]),
                "principal": body["principal"],
                "tool": body["tool"],
                "record": canonical_json(body),
                "prev_hash": record.prev_hash,
                "hash": record.hash,
            },
        )
        await self.conn.execute(_MOVE_HEAD, {"b_seq": record.seq, "b_hash": record.hash})

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
