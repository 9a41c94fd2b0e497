"""Going behind the server's back, as someone who owns the database can: triggers off, rows changed directly."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

Sql = Callable[[str], Awaitable[list[tuple[Any, ...]]]]


@asynccontextmanager
async def owner(db_url: str) -> AsyncIterator[Sql]:
    """A function running SQL (values written inline: these are tests) in one transaction, committed at the end,
    with the append-only and limit triggers out of the way."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(str(url.database), isolation_level=None)
        try:
            triggers = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
            conn.execute("BEGIN IMMEDIATE")
            for name in triggers:
                conn.execute(f'DROP TRIGGER "{name}"')

            async def run_sqlite(sql: str) -> list[tuple[Any, ...]]:
                return conn.execute(sql).fetchall()

            yield run_sqlite
            conn.execute("COMMIT")
        finally:
            conn.close()
        return
    pg = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        async with pg.transaction():
            await pg.execute("SET LOCAL session_replication_role = replica")  # user triggers off, as an owner can

            async def run_pg(sql: str) -> list[tuple[Any, ...]]:
                return [tuple(r) for r in await pg.fetch(sql)]

            yield run_pg
    finally:
        await pg.close()
