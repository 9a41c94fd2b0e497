"""A SQLite database checked at start and opened when first used, so that a start answers tools/list sooner.

Opening the database layer means importing SQLAlchemy (its asyncio engine brings the ORM), the dialects and
every repository: about a fifth of a second, a third of what a start costs on top of the MCP SDK's own import
(benchmarks/startup.py). Listing tools needs none of it. So `serve` on a plain `sqlite:///path` URL checks the
schema with the sqlite3 module (one query) and leaves the rest to the first unit of work, or to the warm-up
that begins once tools/list is answered (cli.py), whichever comes first. Anything else (PostgreSQL, a URL with
options, a schema to create or upgrade) takes the full path at start (bootstrap.prepare_database).

Nothing here imports SQLAlchemy; what it opens is imported in a worker thread, so that the event loop keeps
answering meanwhile.
"""

from __future__ import annotations

import importlib
import re
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

import anyio

from mcp_payments.services.ports import (
    AuditRepository,
    IdempotencyRepository,
    LedgerRepository,
    PoolStats,
    Repo,
    UnitOfWork,
)

if TYPE_CHECKING:
    from mcp_payments.adapters.db.engine import Database
    from mcp_payments.adapters.db.uow import RepositoryFactory, SqlUnitOfWorkFactory

R = TypeVar("R")
# sqlite:///relative.db, sqlite:////absolute.db, sqlite+aiosqlite:///...: no query, no escapes, not in memory.
_PLAIN_SQLITE = re.compile(r"sqlite(?:\+aiosqlite)?:///(?P<path>[^?#%]+)")
# What opening the database layer imports, heaviest first (for the worker thread).
_LAYER = ("sqlalchemy.ext.asyncio", "mcp_payments.adapters.db.uow", "mcp_payments.adapters.db.engine")


def plain_sqlite_path(url: str) -> str | None:
    """The file of a plain SQLite URL, as SQLAlchemy reads it; None for any other URL."""
    match = _PLAIN_SQLITE.fullmatch(url.strip())
    if match is None or match["path"] == ":memory:":
        return None
    return match["path"]


def sqlite_revision(path: str) -> str | None:
    """The schema revision of the SQLite file at `path`: None when it has no schema yet. One query, no SQLAlchemy.
    OSError or sqlite3.Error when it cannot be read."""
    Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError as error:
        if str(error).startswith("no such table"):
            return None
        raise
    finally:
        conn.close()
    return str(row[0]) if row is not None else None


class LazyDatabase:
    """A database opened (engines made) on the first call of `get()`; `url` is already normalized."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._db: Database | None = None
        self._opening: anyio.Lock | None = None

    @property
    def backend(self) -> str:
        return "sqlite"

    async def get(self) -> Database:
        if self._db is None:
            self._opening = self._opening or anyio.Lock()
            async with self._opening:
                if self._db is None:
                    await anyio.to_thread.run_sync(_import_layer)
                    from mcp_payments.adapters.db.engine import open_database

                    self._db = open_database(self.url)
        return self._db

    async def dispose(self) -> None:
        if self._db is not None:
            await self._db.dispose()


def _import_layer() -> None:
    for name in _LAYER:
        importlib.import_module(name)


class DeferredUnitOfWorkFactory:
    """The unit-of-work factory of a LazyDatabase: the real one (SqlUnitOfWorkFactory) once it is open.

    Units of work asked for before that open it on entry; after that, calls go straight to the real factory.
    `repositories` is called then too: repository modules import SQLAlchemy."""

    def __init__(self, db: LazyDatabase, repositories: Callable[[], Mapping[Repo[Any], RepositoryFactory]]) -> None:
        self.lazy = db
        self._repositories = repositories
        self.ready: SqlUnitOfWorkFactory | None = None

    async def open(self) -> SqlUnitOfWorkFactory:
        if self.ready is None:
            db = await self.lazy.get()
            from mcp_payments.adapters.db.uow import SqlUnitOfWorkFactory

            self.ready = self.ready or SqlUnitOfWorkFactory(db, self._repositories())
        return self.ready

    def __call__(self, *, write: bool = True, snapshot: bool = True, begin: bool = True) -> UnitOfWork:
        if self.ready is not None:
            return self.ready(write=write, snapshot=snapshot, begin=begin)
        return _FirstUnitOfWork(self, write, snapshot, begin)

    @property
    def backend(self) -> str:
        return self.lazy.backend

    async def ping(self) -> float:
        return await (await self.open()).ping()

    async def schema_revision(self) -> tuple[str | None, str]:
        return await (await self.open()).schema_revision()

    def pool_stats(self) -> list[PoolStats]:
        return self.ready.pool_stats() if self.ready is not None else []  # none open yet


class _FirstUnitOfWork:
    """A unit of work asked for before the database was open: opens it on entry, then is the real one's proxy."""

    def __init__(self, factory: DeferredUnitOfWorkFactory, write: bool, snapshot: bool, begin: bool) -> None:
        self._factory = factory
        self._options = {"write": write, "snapshot": snapshot, "begin": begin}
        self._inner: UnitOfWork | None = None

    async def __aenter__(self) -> Self:
        real = (await self._factory.open())(**self._options)
        await real.__aenter__()
        self._inner = real
        return self

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        await self._real.__aexit__(exc_type, exc, tb)

    @property
    def _real(self) -> UnitOfWork:
        assert self._inner is not None, "a unit of work's repositories are used inside `async with`"
        return self._inner

    @property
    def ledger(self) -> LedgerRepository:
        return self._real.ledger

    @property
    def idempotency(self) -> IdempotencyRepository:
        return self._real.idempotency

    @property
    def audit(self) -> AuditRepository:
        return self._real.audit

    def repo(self, name: Repo[R]) -> R:
        return self._real.repo(name)

    async def commit(self) -> None:
        await self._real.commit()

    async def rollback(self) -> None:
        await self._real.rollback()
