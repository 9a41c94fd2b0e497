"""Replicas started at the same moment on an empty database: one creates the schema, the others wait for it,
and every one of them comes up and serves (no duplicate `alembic_version`, no traceback)."""

from __future__ import annotations

import subprocess
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_payments.adapters.db import migrate
from mcp_payments.adapters.db.engine import open_database
from mcp_payments.domain.roles import Role
from tests import databases
from tests.conftest import TEST_SECRETS
from tests.e2e.processes import Served, full_env, launched
from tests.helpers import ok
from tests.server.listing import deployment, shown_to

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

# Replicas share their keys through the environment, as a deployment's would.
SHARED_SECRETS = {
    "MCP_PAYMENTS_SECRET_KEY": TEST_SECRETS["secret_key"],
    "MCP_PAYMENTS_WEBHOOK_SECRETS": ",".join(TEST_SECRETS["webhook_secrets"]),
}


async def empty_database_url(backend: str, tmp_path: Path, stack: AsyncExitStack) -> str:
    url = await stack.enter_async_context(databases.fresh_database(backend, tmp_path, migrated=False))
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh' / 'payments.db'}"  # neither the file nor its directory exists yet
    return url


async def revision_of(url: str) -> str | None:
    db = open_database(url)
    try:
        return await migrate.current_revision(db)
    finally:
        await db.dispose()


async def serves(server: Served, tools: set[str]) -> None:
    async with Client(streamable_http_client(f"{server.base}/mcp")) as client:
        assert {t.name for t in (await client.list_tools()).tools} == tools
        wallet = await ok(client, "create_wallet", currency="USD", name=f"on-{server.port}")
        assert wallet["wallet"]["id"].startswith("wal_")
        assert (await ok(client, "get_service_health"))["schema_revision"] == migrate.head_revision()


def replica_dir(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name  # its own data dir and log
    path.mkdir()
    return path


async def test_two_servers_started_together_on_an_empty_database_both_come_up_and_serve(
    backend: str, tmp_path: Path
) -> None:
    async with deployment() as (_, specs):
        tools = shown_to(Role.AGENT, specs)  # the local user, as these servers serve it
    async with AsyncExitStack() as stack:
        url = await empty_database_url(backend, tmp_path, stack)
        async with AsyncExitStack() as processes:
            replicas = [
                await processes.enter_async_context(
                    launched(
                        "http", url, replica_dir(tmp_path, name), "--no-background", "--no-auth", env=SHARED_SECRETS
                    )
                )
                for name in ("a", "b")
            ]
            with anyio.fail_after(120):
                for server in replicas:
                    await server.ready()
                for server in replicas:
                    await serves(server, tools)
        assert await revision_of(url) == migrate.head_revision()

    logs = [await anyio.Path(server.log).read_text() for server in replicas]
    for text in logs:
        assert "Traceback" not in text, text
    migrated = [t for t in logs if "creating_database" in t and "database_created_by_another_process" not in t]
    assert len(migrated) == 1, "exactly one replica created the schema"


async def test_two_migrate_commands_at_once_on_an_empty_database_both_succeed_and_one_migrates(
    backend: str, tmp_path: Path
) -> None:
    outputs: list[subprocess.CompletedProcess[bytes]] = []

    async def run_migrate(url: str) -> None:
        outputs.append(
            await anyio.run_process(
                [sys.executable, "-m", "mcp_payments", "migrate", "--db", url],
                stdin=subprocess.DEVNULL,
                env=full_env(tmp_path),
                check=False,
            )
        )

    head = migrate.head_revision()
    async with AsyncExitStack() as stack:
        url = await empty_database_url(backend, tmp_path, stack)
        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                tg.start_soon(run_migrate, url)
                tg.start_soon(run_migrate, url)
        assert await revision_of(url) == head

    for done in outputs:
        assert done.returncode == 0, done.stderr.decode()
        assert "Traceback" not in done.stderr.decode()
    said = sorted(done.stdout.decode() for done in outputs)
    assert [f"from empty to {head}" in s for s in said].count(True) == 1, said
    assert all(f"to {head}" in s for s in said), said
