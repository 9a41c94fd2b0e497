"""Apply and inspect the Alembic migration history (one history for both backends)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db import migration_lock
from mcp_payments.adapters.db.engine import Database

_SCRIPTS = Path(__file__).with_name("migrations")


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def _revision_on(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


async def current_revision(db: Database) -> str | None:
    # A one-statement read (the health tool asks too): the reader, no transaction, no write lock.
    async with db.reader.connect() as conn:
        return await conn.run_sync(_revision_on)


@asynccontextmanager
async def exclusive(db: Database) -> AsyncIterator[AsyncConnection]:
    """A transaction on the admin engine that holds the migration lock: other processes' migrations wait.

    The whole history runs in this one transaction on both backends, so a process that reads the revision
    meanwhile sees the schema from before or after, never half of it.
    """
    # File lock first (SQLite): waiting for it must not hold SQLite's write lock (BEGIN IMMEDIATE).
    async with migration_lock.file_lock(migration_lock.lock_file_of(db.url)), db.admin.begin() as conn:
        if db.backend == "postgresql":
            await migration_lock.take_advisory_lock(conn)
        yield conn


async def upgrade(db: Database, revision: str = "head") -> str | None:
    """Bring the schema to `revision` unless it is there already; returns the revision found under the lock.

    Processes that start together on an empty database all get here: the first migrates, the others
    wait for the lock, read the revision again and find nothing left to do.
    """
    from alembic import command

    target = head_revision() if revision == "head" else revision
    try:
        async with exclusive(db) as conn:
            found = await conn.run_sync(_revision_on)
            if found != target:
                await conn.run_sync(lambda c: command.upgrade(_config(c), revision))
    finally:
        await db.admin.dispose()  # migrations run once: no connection held for the process's lifetime
    return found
