from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

import mcp_payments.adapters.db.migrations as migrations
from mcp_payments.adapters.db import migrate, tables
from mcp_payments.adapters.db.engine import open_database
from tests import databases

pytestmark = pytest.mark.anyio


async def test_migrations_build_exactly_the_schema_of_the_table_definitions(backend: str, tmp_path: Path) -> None:
    async with databases.fresh_database(backend, tmp_path, migrated=False) as url:
        db = open_database(url)
        try:
            assert await migrate.current_revision(db) is None
            await migrate.upgrade(db)

            def diff(conn: Connection) -> list[Any]:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                return list(compare_metadata(context, tables.metadata))

            async with db.writer.connect() as conn:
                differences = await conn.run_sync(diff)
                names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert await migrate.current_revision(db) == migrate.head_revision()
        finally:
            await db.dispose()

    assert differences == []
    assert names == set(tables.metadata.tables) | {"alembic_version"}


async def test_migrating_a_current_database_again_changes_nothing(backend: str, tmp_path: Path) -> None:
    async with databases.fresh_database(backend, tmp_path) as url:
        db = open_database(url)
        try:
            if backend == "sqlite":
                await migrate.upgrade(db)
            await migrate.upgrade(db)
            assert await migrate.current_revision(db) == migrate.head_revision()
        finally:
            await db.dispose()


def test_the_head_read_from_the_migration_files_is_alembic_s() -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    assert migrate.head_revision() == ScriptDirectory.from_config(config).get_current_head()
