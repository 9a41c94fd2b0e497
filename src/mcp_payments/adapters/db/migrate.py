"""Apply and inspect the Alembic migration history (one history for both backends)."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

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


async def current_revision(db: Database) -> str | None:
    # A one-statement read (the health tool asks too): the reader, no transaction, no write lock.
    async with db.reader.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def upgrade(db: Database, revision: str = "head") -> None:
    from alembic import command

    def run(conn: Connection) -> None:
        command.upgrade(_config(conn), revision)

    try:
        if db.backend == "sqlite":
            # Migrations take the write lock like any writer would.
            async with db.admin.connect() as conn:
                await conn.run_sync(run)
                await conn.commit()
        else:
            async with db.admin.begin() as conn:
                await conn.run_sync(run)
    finally:
        await db.admin.dispose()  # migrations run once: no connection held for the process's lifetime
