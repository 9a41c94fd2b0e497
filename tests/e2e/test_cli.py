"""The command line a person types: clear one-line failures, first-start migration, schema export."""

import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

import mcp_payments.adapters.db.migrations as migrations
from mcp_payments.adapters.db import migrate
from mcp_payments.adapters.db.engine import open_database
from tests import databases
from tests.e2e.processes import ROOT, full_env, isolated_env, serve_args, stdio_params
from tests.helpers import ok

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def cli(
    tmp_path: Path, *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    with anyio.fail_after(120):
        return await anyio.run_process(
            [sys.executable, "-m", "mcp_payments", *args],
            stdin=subprocess.DEVNULL,
            env={**full_env(tmp_path), **(env or {})},
            cwd=cwd,
            check=False,
        )


def assert_one_clear_line(stderr: bytes, *phrases: str) -> str:
    text = stderr.decode()
    assert "Traceback" not in text, text
    assert text.endswith("\n")
    assert text.count("\n") == 1, f"expected one line, got:\n{text}"
    assert text.startswith("mcp-payments: "), text
    for phrase in phrases:
        assert phrase in text, text
    return text


def previous_revision() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    head = ScriptDirectory.from_config(config).get_revision(migrate.head_revision())
    assert head is not None
    down = head.down_revision
    assert down is None or isinstance(down, str), "a merge revision: pick one branch"
    return down


@pytest.mark.parametrize(
    ("url", "phrase"),
    [
        (
            "postgresql://postgres@127.0.0.1:1/nope",
            "cannot reach the database at postgresql+asyncpg://postgres@127.0.0.1:1/nope",
        ),
        (
            "postgresql://postgres@127.0.0.1:1/nope",
            "check that PostgreSQL accepts connections there: `pg_isready -h 127.0.0.1 -p 1 -U postgres`",
        ),
        ("postgresql://postgres:s3cret@127.0.0.1:1/nope", "cannot reach the database"),
        ("mysql://user@localhost/payments", "unsupported database URL scheme 'mysql'"),
        ("not a database url", "the database URL cannot be parsed"),
    ],
    ids=[
        "unreachable-postgresql",
        "unreachable-says-what-to-check",
        "unreachable-with-password",
        "unsupported-scheme",
        "unparsable",
    ],
)
async def test_serve_with_an_unusable_database_exits_with_one_clear_line(url: str, phrase: str, tmp_path: Path) -> None:
    done = await cli(tmp_path, "serve", "--db", url)
    assert done.returncode != 0
    assert done.stdout == b"", "stdout is the protocol: nothing else goes there"
    text = assert_one_clear_line(done.stderr, phrase)
    assert "s3cret" not in text


async def test_serve_with_an_unknown_toolset_exits_with_one_clear_line(tmp_path: Path) -> None:
    done = await cli(tmp_path, "serve", "--toolsets", "wallets,bogus")
    assert done.returncode != 0
    assert_one_clear_line(done.stderr, "--toolsets: unknown toolset(s) bogus")


@pytest.mark.parametrize(
    ("name", "value", "phrase"),
    [
        ("MCP_PAYMENTS_READ_ONLY", "sure", "is not yes or no: use true or false"),
        ("MCP_PAYMENTS_NO_AUTH", "maybe", "is not yes or no: use true or false"),
        ("MCP_PAYMENTS_LOG_LEVEL", "bogus", "is not a log level: use one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("MCP_PAYMENTS_TOOLSETS", "wallets,bogus", "unknown toolset(s) bogus; choose from payments"),
        ("MCP_PAYMENTS_AUTHORIZATION_DAYS", "1e12", "at most a year"),
        ("MCP_PAYMENTS_DEDUP_WINDOW_SECONDS", "a minute", "is not a number of seconds"),
    ],
)
async def test_serve_with_a_bad_setting_exits_with_one_line_naming_it(
    name: str, value: str, phrase: str, tmp_path: Path
) -> None:
    done = await cli(tmp_path, "serve", "--db", f"sqlite:///{tmp_path / 'p.db'}", env={name: value})
    assert done.returncode != 0
    assert done.stdout == b""
    assert_one_clear_line(done.stderr, f"mcp-payments: {name}: ", phrase)
    assert not (tmp_path / "p.db").exists(), "nothing is started, nothing is created"


async def test_read_only_spelt_on_serves_only_read_tools(db_url: str, tmp_path: Path) -> None:
    env = {**isolated_env(tmp_path), "MCP_PAYMENTS_READ_ONLY": "on"}
    params = StdioServerParameters(command=sys.executable, args=serve_args(db_url), env=env)
    with anyio.fail_after(60):
        async with Client(params) as client:
            tools = (await client.list_tools()).tools
            with pytest.raises(MCPError, match="read-only mode"):
                await client.call_tool("create_wallet", {"currency": "USD"})
    assert tools
    assert all(t.annotations is not None and t.annotations.read_only_hint for t in tools), [t.name for t in tools]


async def test_a_fresh_database_is_created_and_migrated_on_first_start(backend: str, tmp_path: Path) -> None:
    async with databases.fresh_database(backend, tmp_path, migrated=False) as url:
        if backend == "sqlite":
            # A file in a directory that does not exist yet, as on a first run.
            url = f"sqlite:///{tmp_path / 'first' / 'run' / 'payments.db'}"
        with anyio.fail_after(60):
            async with Client(stdio_params(url, tmp_path)) as client:
                health = await ok(client, "get_service_health")
                wallet = await ok(client, "create_wallet", currency="USD")
        assert health["status"] == "ok", health
        assert health["schema_revision"] == migrate.head_revision()
        assert wallet["wallet"]["id"].startswith("wal_")
    if backend == "sqlite":
        assert (tmp_path / "first" / "run" / "payments.db").is_file()


async def test_a_database_at_an_older_revision_is_refused_until_migrate_is_run(backend: str, tmp_path: Path) -> None:
    previous = previous_revision()
    if previous is None:
        pytest.skip("only one migration exists: no database can be at an older revision")
    head = migrate.head_revision()
    async with databases.fresh_database(backend, tmp_path, migrated=False) as url:
        db = open_database(url)
        try:
            await migrate.upgrade(db, previous)
        finally:
            await db.dispose()

        refused = await cli(tmp_path, "serve", "--db", url)
        assert refused.returncode != 0
        # The exact command: a checkout's .venv/bin is not on the PATH.
        migrate_command = f"run `{Path(sys.executable).parent / 'mcp-payments'} migrate --db "
        assert_one_clear_line(refused.stderr, f"schema revision {previous}", f"needs {head}", migrate_command)

        migrated = await cli(tmp_path, "migrate", "--db", url)
        assert migrated.returncode == 0, migrated.stderr.decode()
        assert f"migrated from {previous} to {head}" in migrated.stdout.decode()

        with anyio.fail_after(60):
            async with Client(stdio_params(url, tmp_path)) as client:
                health = await ok(client, "get_service_health")
        assert health["schema_revision"] == head


async def test_export_schemas_check_passes_on_the_committed_schemas(tmp_path: Path) -> None:
    done = await cli(tmp_path, "export-schemas", "--check")
    assert done.returncode == 0, done.stderr.decode()


async def test_export_schemas_check_names_a_stale_file_and_fails(tmp_path: Path) -> None:
    out = tmp_path / "schemas"
    out.mkdir()
    for source in (ROOT / "schemas").glob("*.json"):
        (out / source.name).write_text(source.read_text())
    (out / "get_wallet.json").write_text("{}\n")
    done = await cli(tmp_path, "export-schemas", "--check", "--out", str(out))
    assert done.returncode != 0
    assert_one_clear_line(done.stderr, "schemas are stale: get_wallet.json")
    assert (out / "get_wallet.json").read_text() == "{}\n"


@asynccontextmanager
async def missing_postgresql_database(role: str | None = None) -> AsyncIterator[str]:
    """The URL of a PostgreSQL database that does not exist (as `role`, made without CREATEDB, when given);
    whatever a test created under that name is dropped afterwards."""
    name = f"mcpp_missing_{uuid.uuid4().hex[:10]}"
    admin = await databases.admin()
    try:
        if role is not None:
            await admin.execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB')
        user = role or "postgres"
        yield databases.pg_url(name).replace("postgres@", f"{user}@", 1).replace("+asyncpg", "", 1)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if role is not None:
            await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()


async def test_migrate_creates_a_postgresql_database_that_does_not_exist_when_the_role_may(tmp_path: Path) -> None:
    async with missing_postgresql_database() as url:
        done = await cli(tmp_path, "migrate", "--db", url)
        assert done.returncode == 0, done.stderr.decode()
        assert f"migrated from empty to {migrate.head_revision()}" in done.stdout.decode()
        assert '"event":"database_created"' in done.stderr.decode()
        with anyio.fail_after(60):
            async with Client(stdio_params(url, tmp_path)) as client:
                assert (await ok(client, "get_service_health"))["status"] == "ok"


async def test_serve_on_a_missing_postgresql_database_the_role_may_not_create_says_the_createdb_command(
    tmp_path: Path,
) -> None:
    role = f"mcpp_nocreate_{uuid.uuid4().hex[:8]}"
    async with missing_postgresql_database(role) as url:
        done = await cli(tmp_path, "serve", "--db", url)
        name = url.rsplit("/", 1)[1]
        assert done.returncode != 0
        assert_one_clear_line(
            done.stderr,
            "does not exist and could not be created",
            f"may not create databases): create it with `createdb -h 127.0.0.1 -p 5432 -U {role} {name}`",
        )


async def test_serve_on_a_port_in_use_exits_with_one_line_that_says_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = await cli(
            tmp_path, "serve", "--transport", "http", "--port", str(port), "--db", f"sqlite:///{tmp_path / 'p.db'}"
        )
    assert done.returncode != 0
    assert_one_clear_line(
        done.stderr, f"cannot listen on 127.0.0.1:{port}", f"`lsof -i :{port}`", f"`--port {port + 1}`"
    )
    assert not (tmp_path / "p.db").exists(), "checked before the database is opened"
