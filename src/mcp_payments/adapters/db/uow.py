"""The unit of work: one connection, one transaction, the repositories bound to it."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, Self, TypeVar, cast

import anyio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db import migrate
from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.engine import Database
from mcp_payments.adapters.db.errors import translate
from mcp_payments.adapters.db.ledger_repo import SqlLedger
from mcp_payments.adapters.db.platform_repo import SqlAudit, SqlIdempotency
from mcp_payments.adapters.db.pool import acquire
from mcp_payments.services.ports import PoolStats, Repo

R = TypeVar("R")
# Makes a category's repository on a unit of work's connection (catalog.py collects them).
RepositoryFactory = Callable[[AsyncConnection, Driver], object]


class SqlUnitOfWork:
    def __init__(
        self,
        db: Database,
        *,
        write: bool,
        snapshot: bool = True,
        begin: bool = True,
        repositories: Mapping[Repo[Any], RepositoryFactory] | None = None,
    ) -> None:
        self._db = db
        self._factories = repositories or {}
        self._repos: dict[Repo[Any], object] = {}
        self._write = write
        self._snapshot = snapshot
        self._begin = begin  # False: idempotency.claim(..., begin=True) begins the transaction (ports.py)
        self._lock = db.write_lock if write else None
        self._pool = db.writers if write else db.readers
        self._held: tuple[AsyncConnection, Driver] | None = None

    async def __aenter__(self) -> Self:
        # Plain try/except rather than an exit stack: this runs on every tool call (see benchmarks/).
        if self._held is not None:
            raise RuntimeError("a unit of work is used once: make a new one")  # its repositories hold the connection
        if self._lock is not None:
            await acquire(self._lock)
        try:
            self._held = await self._pool.acquire()
        except BaseException as error:
            if self._lock is not None:
                self._lock.release()
            raise translate(error) from error
        try:
            # A read of one statement needs no transaction at all (no BEGIN, no ROLLBACK).
            if self._begin and (self._write or self._snapshot):
                await self._held[1].begin(write=self._write)
        except BaseException as error:
            await self._end()
            raise translate(error) from error
        return self

    # The repositories are made when first used: most units of work use one or two of them.
    @cached_property
    def ledger(self) -> SqlLedger:
        conn, driver = self._connection()
        return SqlLedger(conn, driver, self._db.system_accounts)

    @cached_property
    def idempotency(self) -> SqlIdempotency:
        return SqlIdempotency(*self._connection(beginning=True))

    @cached_property
    def audit(self) -> SqlAudit:
        return SqlAudit(*self._connection())

    def repo(self, name: Repo[R]) -> R:
        if (made := self._repos.get(name)) is None:
            factory = self._factories.get(name)
            if factory is None:
                raise LookupError(f"no repository {name.name}: its category is missing from catalog.py")
            made = self._repos[name] = factory(*self._connection())
        return cast(R, made)

    def _connection(self, *, beginning: bool = False) -> tuple[AsyncConnection, Driver]:
        assert self._held is not None, "a unit of work's repositories are used inside `async with`"
        if not (self._begin or beginning or self._held[1].in_transaction):
            # A statement sent now would run outside the transaction, committed on its own.
            raise RuntimeError("this unit of work begins with idempotency.claim(..., begin=True): nothing before it")
        return self._held

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        await self._end()
        if exc is not None and (translated := translate(exc)) is not exc:
            raise translated from exc

    async def _end(self) -> None:
        """Roll back what was not committed, even when cancelled, so the connection goes back to the pool clean;
        then give back the connection and the write lock."""
        assert self._held is not None
        conn, driver = self._held
        reusable = False
        try:
            if driver.in_transaction or conn.in_transaction():
                with anyio.CancelScope(shield=True):
                    await driver.rollback()
                    if conn.in_transaction():
                        # SQLAlchemy's own bookkeeping transaction, begun at its first statement: nothing
                        # reaches the database (the engines run no transactions of their own).
                        await conn.rollback()
            reusable = True
        finally:
            try:
                await self._pool.release(self._held, reusable=reusable)
            finally:
                if self._lock is not None:
                    self._lock.release()

    async def commit(self) -> None:
        assert self._held is not None
        try:
            await self._held[1].commit()
        except BaseException as error:
            raise translate(error) from error
        # Only now do the system accounts this unit of work created certainly exist.
        if "ledger" in self.__dict__:
            self._db.system_accounts.update(self.ledger.created_system_accounts)

    async def rollback(self) -> None:
        assert self._held is not None
        await self._held[1].rollback()


class SqlUnitOfWorkFactory:
    def __init__(self, db: Database, repositories: Mapping[Repo[Any], RepositoryFactory] | None = None) -> None:
        self.db = db
        self.repositories = dict(repositories or {})

    def __call__(self, *, write: bool = True, snapshot: bool = True, begin: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.db, write=write, snapshot=snapshot, begin=begin, repositories=self.repositories)

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

    def pool_stats(self) -> list[PoolStats]:
        pools = {"writer": self.db.writers, "reader": self.db.readers}
        if self.db.readers is self.db.writers:
            del pools["reader"]  # PostgreSQL: one pool serves both
        return [PoolStats(name, *pool.stats()) for name, pool in pools.items()]
