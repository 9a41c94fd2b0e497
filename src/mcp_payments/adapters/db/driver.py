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
    async def begin_with(self, sql: str) -> int:
        """Begin a write transaction and run `sql` (no parameters) in it, in one round trip where the driver
        allows it; returns how many rows the statement changed."""
        ...

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

    async def begin_with(self, sql: str) -> int:
        await self.begin(write=True)
        return int(self.conn.execute(sql).rowcount)

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
        self._prepared: set[str] = set()  # statements PREPAREd on this connection (a session's, kept until it closes)
        self._tail: list[str] = []  # statements sent with the COMMIT (defer)
        self._notices: list[str] = []  # NOTIFYs sent with this transaction's COMMIT (notify_on_commit)

    @property
    def in_transaction(self) -> bool:
        return bool(self.conn.is_in_transaction())

    def notify_on_commit(self, channel: str, payload: str) -> None:
        """NOTIFY `channel` in the same simple query as the COMMIT: no round trip of its own, and, being inside
        the transaction, delivered only when it commits."""
        self._notices.append(f"SELECT pg_notify({pg_literal(channel)}, {pg_literal(payload)})")

    @property
    def usable(self) -> bool:
        return not self.conn.is_closed()

    async def begin(self, *, write: bool) -> None:
        self._notices.clear()
        # A read of several statements sees one snapshot.
        await self.conn.execute("BEGIN" if write else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    async def begin_with(self, sql: str) -> int:
        # Two statements in one simple query: one round trip. The status is the last statement's, "INSERT 0 1".
        self._notices.clear()
        status: str = await self.conn.execute("BEGIN; " + sql)
        return int(status.rsplit(" ", 1)[-1])

    async def commit(self) -> None:
        # The deferred statements, the NOTIFYs and COMMIT in one simple query: one round trip. A failing statement
        # stops the query there (the error is raised, nothing commits, nothing is announced); PostgreSQL answers
        # COMMIT of a failed transaction with ROLLBACK, not with an error.
        statements = [*self._tail, *self._notices, "COMMIT"]
        self._tail, self._notices = [], []
        if await self.conn.execute("; ".join(statements)) != "COMMIT":
            raise TransactionRolledBack("the transaction failed and was rolled back")

    async def rollback(self) -> None:
        self._tail.clear()
        self._notices.clear()
        if self.conn.is_in_transaction():
            await self.conn.execute("ROLLBACK")

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        if self._tail:
            await self._flush()
        rows: list[Row] = await self.conn.fetch(sql, *args)
        return rows

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if self._tail:
            await self._flush()
        await self.conn.executemany(sql, rows)

    async def prepare(self, name: str, types: str, definition: str) -> None:
        """PREPARE `definition` (parameters of `types`) as `name` on this connection, the first time only.

        A query of several statements (begin_with, defer) cannot take parameters: `EXECUTE name(literals)` in it
        is then parsed, not planned, each time. A PREPARE outlives a rollback, so it is made once and for all."""
        if name not in self._prepared:
            await self._prepare(name, types, definition)

    async def _prepare(self, name: str, types: str, definition: str) -> None:
        await self.conn.execute(f"PREPARE {name}({types}) AS {definition}")
        self._prepared.add(name)

    def defer(self, sql: str) -> None:
        """Run `sql` (no parameters) with the COMMIT, in its round trip: for a transaction's last write (a call's
        idempotency completion). A statement sent on this driver before the COMMIT sends it first, so the driver's
        statements keep their order; one sent through SQLAlchemy's connection does not, so nothing that reads what
        `sql` writes may come after it that way."""
        self._tail.append(sql)

    async def _flush(self) -> None:
        tail, self._tail = self._tail, []
        await self.conn.execute("; ".join(tail))

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


def pg_literal(value: str | datetime) -> str:
    """A PostgreSQL literal of `value`, for the one statement that cannot take parameters (begin_with).

    An escape string (E'...') whatever standard_conforming_strings says: a backslash and a quote are the
    only characters with a meaning inside it, and both are escaped. NUL cannot be in a PostgreSQL text:
    refused rather than cut (the tools refuse control characters long before)."""
    if isinstance(value, datetime):
        return f"'{_aware(value).isoformat()}'::timestamptz"
    if "\x00" in value:
        raise ValueError("NUL in a value for PostgreSQL")
    return "E'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pg_call(name: str, values: Iterable[str | datetime]) -> str:
    """`EXECUTE name(...)` of a PREPAREd statement (PgDriver.prepare) with `values` as literals."""
    return f"EXECUTE {name}({', '.join(map(pg_literal, values))})"


def marks(pg: bool, n: int) -> str:
    """n parameter placeholders: $1, $2 ... for asyncpg, ? for sqlite3."""
    return ", ".join(f"${i + 1}" for i in range(n)) if pg else ", ".join("?" * n)


def driver_of(conn: AsyncConnection) -> Driver:
    """The driver connection under a connected SQLAlchemy connection."""
    raw: Any = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    if conn.dialect.name == "postgresql":
        return PgDriver(raw)
    return SqliteDriver(raw._conn)  # the sqlite3 connection inside aiosqlite's
