"""Starting on a database: replicas that start together on an empty one all come up, and a start on a
current one reads the revision once and takes no lock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

from mcp_payments.adapters.db import migrate, migration_lock
from mcp_payments.adapters.db.engine import Database, open_database
from mcp_payments.bootstrap import open_checked, prepare_database
from mcp_payments.config import Settings
from tests import databases
from tests.conftest import TEST_SECRETS

pytestmark = pytest.mark.anyio

REPLICAS = 6


@pytest.fixture
async def empty_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with databases.fresh_database(backend, tmp_path, migrated=False) as url:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'first' / 'payments.db'}"  # its directory does not exist yet
        yield url


class Logs:
    """The log events logged meanwhile, and a wait for them that is woken by each new one (no polling)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self._logged = anyio.Event()

    def wake(self, _logger: Any, _method: str, event_dict: Any) -> Any:
        # A structlog processor, so it runs as each event is logged, on the logging task's thread (the loop's).
        self._logged.set()
        self._logged = anyio.Event()
        return event_dict

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["event"] == name]

    async def until(self, name: str, count: int) -> None:
        while len(self.named(name)) < count:
            await self._logged.wait()


@pytest.fixture
def logs() -> Iterator[Logs]:
    watch = Logs()
    with capture_logs(processors=[watch.wake]) as entries:
        watch.entries = entries
        yield watch


async def start_replicas(url: str, count: int, started: list[Database]) -> None:
    """`count` starts at once, each with its own Database, as separate processes would have."""

    async def start() -> None:
        started.append(await prepare_database(Settings(db_url=url, **TEST_SECRETS)))

    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(start)


async def revision_of(url: str) -> str | None:
    db = open_database(url)
    try:
        return await migrate.current_revision(db)
    finally:
        await db.dispose()


async def test_replicas_starting_together_on_an_empty_database_all_come_up_on_the_current_schema(
    empty_url: str,
) -> None:
    started: list[Database] = []
    try:
        with anyio.fail_after(120):
            await start_replicas(empty_url, REPLICAS, started)
    finally:
        for db in started:
            await db.dispose()
    assert len(started) == REPLICAS
    assert await revision_of(empty_url) == migrate.head_revision()


async def test_starts_that_waited_for_the_migration_lock_find_the_schema_created_and_do_not_create_it_again(
    empty_url: str, logs: Logs
) -> None:
    started: list[Database] = []
    holder, _ = await open_checked(Settings(db_url=empty_url))  # another replica, first to the lock
    try:
        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg, migrate.exclusive(holder):
                tg.start_soon(start_replicas, empty_url, REPLICAS, started)
                # Every replica has read an empty database and queued on the lock before anyone migrates.
                await logs.until("migration_lock_busy", REPLICAS)
                assert len(logs.named("creating_database")) == REPLICAS
    finally:
        await holder.dispose()
        for db in started:
            await db.dispose()
    assert len(started) == REPLICAS
    assert len(logs.named("database_created_by_another_process")) == REPLICAS - 1, "exactly one migrated"
    assert await revision_of(empty_url) == migrate.head_revision()


async def test_a_start_on_a_current_database_reads_the_revision_once_and_takes_no_lock(
    backend: str, empty_url: str
) -> None:
    settings = Settings(db_url=empty_url, **TEST_SECRETS)
    await (await prepare_database(settings)).dispose()
    lock_file = migration_lock.lock_file_of(empty_url)
    if lock_file is not None:
        lock_file.unlink()
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        await (await prepare_database(settings)).dispose()
    finally:
        event.remove(Engine, "before_cursor_execute", record)

    assert statements == ["SELECT version_num FROM alembic_version"], "one query, no lock"
    assert not [s for s in statements if "advisory" in s], statements
    assert lock_file is None or not lock_file.exists()


async def test_the_migration_file_lock_keeps_out_a_second_holder_in_the_same_process_until_released(
    tmp_path: Path, logs: Logs
) -> None:
    path = tmp_path / "payments.db.migrate.lock"
    entered = anyio.Event()

    async def second() -> None:
        async with migration_lock.file_lock(path):
            entered.set()

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            async with migration_lock.file_lock(path):
                tg.start_soon(second)
                await logs.until("migration_lock_busy", 1)
                assert not entered.is_set()
            await entered.wait()
    assert path.exists(), "the lock file stays: removing it could let two holders in"


def test_only_a_sqlite_file_has_a_lock_file_beside_it(tmp_path: Path) -> None:
    assert migration_lock.lock_file_of(f"sqlite+aiosqlite:///{tmp_path}/a/payments.db") == (
        tmp_path / "a" / "payments.db.migrate.lock"
    )
    assert migration_lock.lock_file_of("sqlite+aiosqlite:///:memory:") is None
    assert migration_lock.lock_file_of("sqlite+aiosqlite://") is None
    assert migration_lock.lock_file_of("postgresql+asyncpg://postgres@127.0.0.1/payments") is None
