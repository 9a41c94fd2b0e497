"""Engines for both backends, with the durability and locking settings money needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from mcp_payments.adapters.db.sqlite_inline import inline_creator


@dataclass
class Database:
    """The engines of one database. SQLite gets a writer engine (BEGIN IMMEDIATE) and a reader."""

    url: str
    writer: AsyncEngine
    reader: AsyncEngine
    # SQLite takes one writer at a time anyway; queueing in-process is fairer and faster than
    # every connection spinning in the busy handler.
    write_lock: anyio.Lock | None = field(default=None)
    # System accounts known to exist (committed). Accounts are never deleted, so once seen, a fund or
    # capture need not make sure of them again with an INSERT per account.
    system_accounts: set[str] = field(default_factory=set)

    @property
    def backend(self) -> str:
        return self.writer.dialect.name

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


# Execution option of a read that is one statement and so needs no BEGIN (see SqlUnitOfWork).
NO_SNAPSHOT = "mcp_payments_no_snapshot"


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
    if url.startswith("sqlite"):
        writer = _sqlite_engine(url, immediate=True)
        reader = _sqlite_engine(url, immediate=False)
        return Database(url, writer, reader, anyio.Lock())
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False)
    return Database(url, engine, engine)


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    path = make_url(url).database or ":memory:"
    engine = create_async_engine(url, async_creator=inline_creator(path, timeout=30))

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves, so that it can be IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(NO_SNAPSHOT):
            return  # a one-statement read: SQLite runs it in its own implicit transaction
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
