"""Apply and inspect the Alembic migration history (one history for both backends).

A start on a current database (every start but the first) reads the revision with one query and compares it
with the newest migration file's; Alembic, which takes a tenth of a second to import, is loaded only to
migrate, and head_revision() needs no SQLAlchemy either (deferred.py)."""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection
    from sqlalchemy.ext.asyncio import AsyncConnection

    from mcp_payments.adapters.db.engine import Database

_SCRIPTS = Path(__file__).with_name("migrations")
# `revision = "0007"` and `down_revision = "0006"` (or None), as every file in versions/ declares them.
_DECLARED = re.compile(r'^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:"([^"]+)"|None)\s*$', re.M)
_UNDEFINED_TABLE = "42P01"


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    """The newest revision: the one no other file names as its down_revision (a test holds it to Alembic's)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (_SCRIPTS / "versions").glob("[0-9]*.py"):
        declared = dict((name, value) for name, value in _DECLARED.findall(path.read_text()))
        revisions.add(declared["revision"])
        if declared.get("down_revision"):
            parents.add(declared["down_revision"])
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations must have one head, they have {sorted(heads)}: merge them")
    return heads.pop()


def _revision_on(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


async def current_revision(db: Database) -> str | None:
    """The database's revision, None when it has no schema yet: one statement on the reader, no transaction."""
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import text

    async with db.reader.connect() as conn:
        try:
            revision = await conn.scalar(text("SELECT version_num FROM alembic_version"))
        except sa_exc.DBAPIError as error:
            if not _no_such_table(error.orig):
                raise
            await conn.rollback()
            return None
    return str(revision) if revision is not None else None


def _no_such_table(error: BaseException | None) -> bool:
    if isinstance(error, sqlite3.OperationalError):
        return str(error).startswith("no such table")
    return getattr(error, "sqlstate", None) == _UNDEFINED_TABLE


@asynccontextmanager
async def exclusive(db: Database) -> AsyncIterator[AsyncConnection]:
    """A transaction on the admin engine that holds the migration lock: other processes' migrations wait.

    The whole history runs in this one transaction on both backends, so a process that reads the revision
    meanwhile sees the schema from before or after, never half of it.
    """
    from mcp_payments.adapters.db import migration_lock

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
