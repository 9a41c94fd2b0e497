"""The unit of work: one connection, one transaction, the repositories bound to it."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from typing import Self

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db import migrate
from mcp_payments.adapters.db.engine import NO_SNAPSHOT, Database
from mcp_payments.adapters.db.ledger_repo import SqlLedger
from mcp_payments.adapters.db.payments_repo import SqlCustomers, SqlPayments, SqlProviderEvents
from mcp_payments.adapters.db.platform_repo import SqlAudit, SqlIdempotency
from mcp_payments.domain.errors import Contention, DomainError, Unavailable

# PostgreSQL SQLSTATEs that mean "another transaction got in the way; run it again".
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


class SqlUnitOfWork:
    ledger: SqlLedger
    idempotency: SqlIdempotency
    audit: SqlAudit
    customers: SqlCustomers
    payments: SqlPayments
    provider_events: SqlProviderEvents

    def __init__(self, db: Database, *, write: bool, snapshot: bool = True) -> None:
        self._db = db
        self._write = write
        self._snapshot = snapshot
        self._stack = AsyncExitStack()
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        try:
            if self._write and self._db.write_lock is not None:
                await self._stack.enter_async_context(self._db.write_lock)
            engine = self._db.writer if self._write else self._db.reader
            conn = await self._stack.enter_async_context(engine.connect())
            if not self._write and conn.dialect.name == "postgresql":
                # A read of several statements (a statement, the integrity check) sees one snapshot;
                # a one-statement read needs no transaction at all (no BEGIN, no ROLLBACK).
                await conn.execution_options(isolation_level="REPEATABLE READ" if self._snapshot else "AUTOCOMMIT")
            elif not self._write and not self._snapshot:
                await conn.execution_options(**{NO_SNAPSHOT: True})
            await conn.begin()
        except BaseException as error:
            await self._stack.aclose()
            raise translate(error) from error
        self._conn = conn
        dialect = conn.dialect.name
        self.ledger = SqlLedger(conn, dialect, self._db.system_accounts)
        self.idempotency = SqlIdempotency(conn, dialect)
        self.audit = SqlAudit(conn, dialect)
        self.customers = SqlCustomers(conn, dialect)
        self.payments = SqlPayments(conn, dialect)
        self.provider_events = SqlProviderEvents(conn, dialect)
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if self._conn is not None and self._conn.in_transaction():
                await self._conn.rollback()
        finally:
            await self._stack.aclose()
        if isinstance(exc, sa_exc.DBAPIError):
            raise translate(exc) from exc

    async def commit(self) -> None:
        assert self._conn is not None
        try:
            await self._conn.commit()
        except sa_exc.DBAPIError as error:
            raise translate(error) from error
        # Only now do the system accounts this unit of work created certainly exist.
        self._db.system_accounts.update(self.ledger.created_system_accounts)

    async def rollback(self) -> None:
        assert self._conn is not None
        await self._conn.rollback()


def translate(error: BaseException) -> BaseException:
    """Database failures become domain errors an agent can act on; anything else passes."""
    if isinstance(error, DomainError):
        return error
    if isinstance(error, sa_exc.DBAPIError):
        sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        if sqlstate in _RETRYABLE_SQLSTATES or "database is locked" in str(error.orig):
            return Contention("the database was busy with a concurrent change: retry the call unchanged")
        if isinstance(error, sa_exc.IntegrityError) and sqlstate == "23514":
            # A CHECK constraint (the second line of defence) caught what the domain's check, made on
            # rows read earlier, let through: the whole call runs again on fresh rows.
            return Contention("a concurrent change got in the way: retry the call unchanged")
        if error.connection_invalidated or isinstance(error, sa_exc.InterfaceError | sa_exc.OperationalError):
            return Unavailable("the database cannot be reached right now: retry in a few seconds")
    if isinstance(error, OSError):
        return Unavailable("the database cannot be reached right now: retry in a few seconds")
    return error


class SqlUnitOfWorkFactory:
    def __init__(self, db: Database) -> None:
        self.db = db

    def __call__(self, *, write: bool = True, snapshot: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.db, write=write, snapshot=snapshot)

    @property
    def backend(self) -> str:
        return self.db.backend

    async def ping(self) -> float:
        started = time.perf_counter()
        try:
            async with self.db.reader.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except BaseException as error:
            raise translate(error) from error
        return (time.perf_counter() - started) * 1000

    async def schema_revision(self) -> tuple[str | None, str]:
        return await migrate.current_revision(self.db), migrate.head_revision()
