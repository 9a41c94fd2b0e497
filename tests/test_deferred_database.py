"""`serve` on a current SQLite file lists its tools before the database layer is imported, then works as ever."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client

from mcp_payments.adapters.db import migrate
from mcp_payments.adapters.db.deferred import (
    DeferredUnitOfWorkFactory,
    LazyDatabase,
    plain_sqlite_path,
    sqlite_revision,
)
from mcp_payments.adapters.db.uow import SqlUnitOfWorkFactory
from mcp_payments.bootstrap import application, prepare_database
from mcp_payments.config import Settings
from mcp_payments.domain.roles import Role
from tests.conftest import TEST_SECRETS
from tests.helpers import ok
from tests.server.listing import shown_to

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:////data/payments.db", "/data/payments.db"),
        ("sqlite+aiosqlite:///relative/payments.db", "relative/payments.db"),
        ("sqlite:///with space.db", "with space.db"),
        ("sqlite:///:memory:", None),
        ("sqlite://", None),
        ("sqlite:///escaped%20name.db", None),
        ("sqlite:///payments.db?mode=ro", None),
        ("postgresql://postgres@localhost/payments", None),
    ],
)
def test_only_a_plain_sqlite_file_url_takes_the_deferred_path(url: str, path: str | None) -> None:
    assert plain_sqlite_path(url) == path


def test_the_revision_of_a_sqlite_file_is_read_with_one_query(tmp_path: Path) -> None:
    empty = tmp_path / "new" / "payments.db"
    assert sqlite_revision(str(empty)) is None  # no schema yet (the file and its directory are made)
    conn = sqlite3.connect(empty)
    conn.executescript("CREATE TABLE alembic_version (version_num TEXT); INSERT INTO alembic_version VALUES ('0007')")
    conn.close()
    assert sqlite_revision(str(empty)) == "0007"
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database, not at all" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        sqlite_revision(str(garbage))


async def test_a_deferred_start_serves_every_tool_and_opens_the_database_on_first_use(
    db_url: str, backend: str
) -> None:
    settings = Settings(db_url=db_url, **TEST_SECRETS)
    await (await prepare_database(settings)).dispose()  # migrated: a start after the first

    async with application(settings, defer_database=True) as (server, _box, services):
        deferred = isinstance(services.uow, DeferredUnitOfWorkFactory)
        assert deferred == (backend == "sqlite"), "PostgreSQL is opened at start"
        async with Client(server) as client:
            listed = {t.name for t in (await client.list_tools()).tools}
            assert listed == shown_to(Role.AGENT, server.specs)  # the local user on stdio is an agent
            if isinstance(services.uow, DeferredUnitOfWorkFactory):
                assert services.uow.ready is None, "listing tools opened nothing"
            wallet = await ok(client, "create_wallet", currency="USD", name="first")  # opens it
            health = await ok(client, "get_service_health")
            again = await ok(client, "get_wallet", wallet_id=wallet["wallet"]["id"])
        if isinstance(services.uow, DeferredUnitOfWorkFactory):
            assert isinstance(services.uow.ready, SqlUnitOfWorkFactory)
    assert health["status"] == "ok"
    assert health["schema_revision"] == migrate.head_revision()
    assert health["database_backend"] == backend
    assert again["name"] == "first"


async def test_units_of_work_asked_for_together_before_it_is_open_open_it_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'payments.db'}"
    settings = Settings(db_url=url, **TEST_SECRETS)
    await (await prepare_database(settings)).dispose()
    lazy = await prepare_database(settings, defer=True)
    assert isinstance(lazy, LazyDatabase)
    opened: list[object] = []
    try:

        async def read() -> None:
            async with factory(write=False) as uow:
                opened.append(await uow.ledger.get_account("wal_missing"))

        factory = DeferredUnitOfWorkFactory(lazy, dict)
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for _ in range(5):
                    tg.start_soon(read)
        assert opened == [None] * 5
        assert factory.ready is not None
        assert await factory.schema_revision() == (migrate.head_revision(), migrate.head_revision())
    finally:
        await lazy.dispose()


async def test_a_database_that_needs_migrating_is_opened_at_start_even_when_deferred(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    db = await prepare_database(Settings(db_url=url, **TEST_SECRETS), defer=True)  # created and migrated now
    try:
        assert not isinstance(db, LazyDatabase)
    finally:
        await db.dispose()


async def test_a_start_lists_tools_without_importing_the_database_layer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'payments.db'}"
    await (await prepare_database(Settings(db_url=url, **TEST_SECRETS))).dispose()  # a start after the first
    probe = f"""
import sys, anyio
from mcp_payments import cli
from mcp_payments.logging import configure
from mcp_payments.bootstrap import application
from mcp_payments.config import Settings
from mcp_payments.domain.roles import Role
from mcp.client import Client

async def main():
    configure()  # to stderr
    settings = Settings(db_url={url!r}, secret_key="k", webhook_secrets=("w",))
    async with application(settings, defer_database=True) as (server, box, services):
        tools = await server.list_tools()
        print(len(tools), sorted({{m.split(".")[0] for m in sys.modules}} & {{"sqlalchemy", "alembic"}}))
        async with Client(server) as client:
            result = await client.call_tool("create_wallet", {{"currency": "USD"}})
        print(result.is_error, "sqlalchemy" in sys.modules)

anyio.run(main)
"""
    done = await anyio.run_process([sys.executable, "-c", probe], check=False)
    assert done.returncode == 0, done.stderr.decode()
    listed, called = done.stdout.decode().splitlines()
    assert listed.endswith(" []"), listed
    assert called == "False True"
