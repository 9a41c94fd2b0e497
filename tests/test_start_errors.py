"""What a start says when it cannot go on: one message with the command that fixes it (in-process, see also
tests/e2e/test_cli.py for the command line)."""

from __future__ import annotations

import socket
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from mcp_payments import cli, invocation
from mcp_payments.adapters.db import provision
from mcp_payments.bootstrap import StartupError, open_checked
from mcp_payments.config import Settings
from tests import databases

pytestmark = pytest.mark.anyio


def test_a_port_in_use_says_which_command_shows_who_and_which_port_to_take() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            StartupError, match=rf"`lsof -i :{port}` shows which\): stop it or pass `--port {port + 1}`"
        ):
            cli._listen("127.0.0.1", port)
    with cli._listen("127.0.0.1", 0) as free:
        assert free.getsockname()[0] == "127.0.0.1"
    with pytest.raises(StartupError, match="--host must be an address of this machine"):
        cli._listen("192.0.2.1", 0)  # TEST-NET-1: no machine has it


def test_the_exact_command_names_the_console_script_beside_this_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bin").mkdir()
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    python = tmp_path / "bin" / "python"
    assert invocation.command("migrate", "--db", "sqlite:///a b.db") == (
        f"{python} -m mcp_payments migrate --db 'sqlite:///a b.db'"  # no console script there: the module
    )
    (tmp_path / "bin" / "mcp-payments").write_text("#!/bin/sh\n")
    assert invocation.command("migrate") == f"{tmp_path / 'bin' / 'mcp-payments'} migrate"


def test_the_postgresql_commands_name_host_port_and_role_never_the_password() -> None:
    url = "postgresql+asyncpg://ops:s3cret@db.internal:6543/pay ments"
    assert provision.createdb_command(url) == "createdb -h db.internal -p 6543 -U ops 'pay ments'"
    assert provision.pg_isready_command(url) == "pg_isready -h db.internal -p 6543 -U ops"
    assert provision.createdb_command("postgresql+asyncpg:///payments") == "createdb payments"


@asynccontextmanager
async def missing(role: str | None = None) -> AsyncIterator[str]:
    name = f"mcpp_missing_{uuid.uuid4().hex[:10]}"
    admin = await databases.admin()
    try:
        if role is not None:
            await admin.execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB')
        yield databases.pg_url(name).replace("postgres@", f"{role or 'postgres'}@", 1)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if role is not None:
            await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()


async def test_a_missing_postgresql_database_is_created_when_asked_and_the_role_may() -> None:
    async with missing() as url:
        with pytest.raises(StartupError, match=r"does not exist: create it with `createdb -h 127\.0\.0\.1 -p 5432"):
            await open_checked(Settings(db_url=url))
        db, revision = await open_checked(Settings(db_url=url), create=True)
        await db.dispose()
        assert revision is None  # created, empty: the start migrates it
        await provision.create_database(url)  # there already: as good


async def test_a_missing_postgresql_database_the_role_may_not_create_gives_the_createdb_command() -> None:
    role = f"mcpp_nocreate_{uuid.uuid4().hex[:8]}"
    async with missing(role) as url:
        with pytest.raises(StartupError, match=rf"may not create databases\): create it with `createdb .* -U {role} "):
            await open_checked(Settings(db_url=url), create=True)


async def test_an_unreachable_postgresql_says_how_to_check_it() -> None:
    with pytest.raises(StartupError, match=r"`pg_isready -h 127\.0\.0\.1 -p 1 -U postgres`"):
        await open_checked(Settings(db_url="postgresql://postgres@127.0.0.1:1/payments"))
    with pytest.raises(provision.CannotCreate, match=r"ConnectionRefusedError|OSError"):
        await provision.create_database("postgresql+asyncpg://postgres@127.0.0.1:1/payments")
