"""Engines for both backends, with the durability and locking settings money needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from mcp_payments.adapters.db.pool import ConnectionPool
from mcp_payments.adapters.db.sqlite_inline import inline_creator


@dataclass
class Database:
    """The engines of one database.

    Units of work run their own transactions on the driver's connection (adapters/db/driver.py), so the
    writer and reader engines leave transactions alone: PostgreSQL in AUTOCOMMIT, SQLite with the
    sqlite3 module's implicit transactions off. SQLite gets a writer and a reader so that only the
    writer queues on the write lock. `admin` is an ordinary engine whose transactions SQLAlchemy runs
    (BEGIN IMMEDIATE on SQLite), for migrations and tools that work behind the units of work.
    """

    url: str
    writer: AsyncEngine
    reader: AsyncEngine
    admin: AsyncEngine
    # SQLite takes one writer at a time anyway; queueing in-process is fairer and faster than
    # every connection spinning in the busy handler.
    write_lock: anyio.Lock | None = field(default=None)
    # System accounts known to exist (committed). Accounts are never deleted, so once seen, a fund or
    # capture need not make sure of them again with an INSERT per account.
    system_accounts: set[str] = field(default_factory=set)
    pool_size: int = 10
    # Open connections for units of work (pool.py); one pool where the writer is the reader.
    writers: ConnectionPool = field(init=False)
    readers: ConnectionPool = field(init=False)

    def __post_init__(self) -> None:
        self.writers = ConnectionPool(self.writer, self.pool_size)
        self.readers = self.writers if self.reader is self.writer else ConnectionPool(self.reader, self.pool_size)

    @property
    def backend(self) -> str:
        return self.writer.dialect.name

    async def dispose(self) -> None:
        await self.writers.close()
        await self.readers.close()
        for engine in {id(e): e for e in (self.writer, self.reader, self.admin)}.values():
            await engine.dispose()


def normalize_url(url: str) -> str:
    """Accept the plain scheme names people type and pick the async drivers."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # Not echoed back: an unparsable URL may still carry a password.
        raise ValueError(
            "the database URL cannot be parsed: write it like sqlite:///path/to/payments.db "
            "or postgresql://user@host/dbname"
        ) from None
    driver = {
        "sqlite": "sqlite+aiosqlite",
        "postgresql": "postgresql+asyncpg",
        "postgres": "postgresql+asyncpg",
    }
    name = driver.get(parsed.drivername, parsed.drivername)
    if name not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}: use sqlite:/// or postgresql://")
    return parsed.set(drivername=name).render_as_string(hide_password=False)


def open_database(url: str, *, pool_size: int = 10) -> Database:
    url = normalize_url(url)
    # The units of work's engines: no transactions of their own, and no ROLLBACK when a connection goes
    # back to the pool, since a unit of work always ends its transaction itself (uow.py).
    if url.startswith("sqlite"):
        writer = _sqlite_engine(url, begin=None, pool_reset_on_return=None)
        reader = _sqlite_engine(url, begin=None, pool_reset_on_return=None)
        admin = _sqlite_engine(url, begin="BEGIN IMMEDIATE")
        return Database(url, writer, reader, admin, anyio.Lock(), pool_size=pool_size)
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,
    )
    # Made on first use only (migrations, the schema check): no connections held otherwise.
    admin = create_async_engine(url, pool_size=1, max_overflow=2, pool_pre_ping=False)
    return Database(url, engine, engine, admin, pool_size=pool_size)


def _sqlite_engine(url: str, *, begin: str | None, **options: Any) -> AsyncEngine:
    path = make_url(url).database or ":memory:"
    engine = create_async_engine(url, async_creator=inline_creator(path, timeout=30), **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are begun explicitly (by the unit of work, or on `begin`), so that BEGIN can be IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    if begin is not None:

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

    return engine
