"""The driver's connection under SQLAlchemy's: transactions, and the statements every call runs.

A unit of work begins and ends its transaction here, and the statements on every tool call's
path (posting, reading a wallet, idempotency, the audit chain) run here as plain SQL. SQLAlchemy
Core costs tens of microseconds of CPU per statement (compile cache, events, result wrapping and,
on asyncio, a greenlet switch), which was most of a transfer's CPU; the driver's own call costs a
few. Everything else still goes through SQLAlchemy on the same connection, inside the same
transaction: its engines are set not to run transactions of their own (engine.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

Row = Sequence[Any]


class Driver(Protocol):
    dialect: str

    @property
    def in_transaction(self) -> bool: ...
    @property
    def usable(self) -> bool: ...
    async def begin(self, *, write: bool) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...
    def time_param(self, value: datetime) -> Any: ...
    def time_value(self, value: Any) -> datetime: ...


class SqliteDriver:
    """sqlite3 runs inline on the event loop's thread (sqlite_inline.py), so nothing here awaits."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    @property
    def usable(self) -> bool:
        return True

    async def begin(self, *, write: bool) -> None:
        # IMMEDIATE takes the write lock now, not at the first write: no deadlock between two readers
        # that both want to upgrade. A reader's BEGIN gives one snapshot to several statements.
        self.conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    async def commit(self) -> None:
        self.conn.execute("COMMIT")

    async def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return self.conn.execute(sql, args).fetchall()

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def time_param(self, value: datetime) -> str:
        _aware(value)
        # The text SQLAlchemy's DateTime stores on SQLite (naive UTC), so both write the same, sortable form.
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def time_value(self, value: Any) -> datetime:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)


class PgDriver:
    dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @property
    def in_transaction(self) -> bool:
        return bool(self.conn.is_in_transaction())

    @property
    def usable(self) -> bool:
        return not self.conn.is_closed()

    async def begin(self, *, write: bool) -> None:
        # A read of several statements sees one snapshot.
        await self.conn.execute("BEGIN" if write else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    async def commit(self) -> None:
        # PostgreSQL answers COMMIT of a failed transaction with ROLLBACK, not with an error.
        if await self.conn.execute("COMMIT") != "COMMIT":
            raise TransactionRolledBack("the transaction failed and was rolled back")

    async def rollback(self) -> None:
        if self.conn.is_in_transaction():
            await self.conn.execute("ROLLBACK")

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        rows: list[Row] = await self.conn.fetch(sql, *args)
        return rows

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.conn.executemany(sql, rows)

    def time_param(self, value: datetime) -> datetime:
        return _aware(value)

    def time_value(self, value: Any) -> datetime:
        assert isinstance(value, datetime)
        return value.astimezone(UTC)


class TransactionRolledBack(Exception):
    pass


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the database")
    return value


def marks(pg: bool, n: int) -> str:
    """n parameter placeholders: $1, $2 ... for asyncpg, ? for sqlite3."""
    return ", ".join(f"${i + 1}" for i in range(n)) if pg else ", ".join("?" * n)


def driver_of(conn: AsyncConnection) -> Driver:
    """The driver connection under a connected SQLAlchemy connection."""
    raw: Any = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    if conn.dialect.name == "postgresql":
        return PgDriver(raw)
    return SqliteDriver(raw._conn)  # the sqlite3 connection inside aiosqlite's
