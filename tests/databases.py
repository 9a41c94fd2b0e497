"""Throwaway databases for tests: a SQLite file copied from a migrated template file, or a PostgreSQL database
cloned from a migrated template database. Each test process migrates one of each, once: migrating a fresh SQLite file
for every test cost about 2.5 s of CPU a test (26 migrations with their triggers), most of the suite's time."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

PG_ADMIN_DSN = os.environ.get("MCP_PAYMENTS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_template: str | None = None
_sqlite_template: Path | None = None


def pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


async def admin() -> asyncpg.Connection:
    """A connection to the server's postgres database as its administrator (skips, or fails in CI, without one)."""
    return await _admin()


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_DSN}: {error}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_DSN}: {error}")


async def _ensure_template() -> str:
    global _template
    if _template is not None:
        return _template
    from mcp_payments.adapters.db import migrate
    from mcp_payments.adapters.db.engine import open_database

    name = f"mcpp_tpl_{uuid.uuid4().hex[:10]}"
    conn = await _admin()
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    db = open_database(pg_url(name))
    try:
        await migrate.upgrade(db)
    finally:
        await db.dispose()
    _template = name
    return name


async def _ensure_sqlite_template() -> Path:
    """A migrated SQLite file, closed (its write-ahead log checkpointed into it), to copy for each test."""
    global _sqlite_template
    if _sqlite_template is not None:
        return _sqlite_template
    from mcp_payments.adapters.db import migrate
    from mcp_payments.adapters.db.engine import open_database

    path = Path(tempfile.mkdtemp(prefix="mcpp-sqlite-template-")) / "template.db"
    db = open_database(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate.upgrade(db)
    finally:
        await db.dispose()
    # The migration lock file (migration_lock.py) stays and is harmless; a write-ahead log would not be.
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(("-wal", "-journal"))]
    assert not leftovers, f"the migrated SQLite template left {leftovers} beside it: it would be copied incomplete"
    _sqlite_template = path
    return path


async def drop_template() -> None:
    if _sqlite_template is not None:
        shutil.rmtree(_sqlite_template.parent, ignore_errors=True)
    if _template is None:
        return
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{_template}" WITH (FORCE)')
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_database(backend: str, tmp_path: Path, *, migrated: bool = True) -> AsyncIterator[str]:
    """A URL to an empty database of `backend` (migrated unless asked otherwise), dropped afterwards."""
    if backend == "sqlite":
        path = tmp_path / f"test-{uuid.uuid4().hex[:8]}.db"
        if migrated:
            shutil.copyfile(await _ensure_sqlite_template(), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = await _ensure_template() if migrated else "template0"
    name = f"mcpp_test_{uuid.uuid4().hex[:12]}"
    conn = await _admin()
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()
    try:
        yield pg_url(name)
    finally:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
