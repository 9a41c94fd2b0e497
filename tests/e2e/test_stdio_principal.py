"""On stdio the caller is the process's: the key in MCP_PAYMENTS_API_KEY (checked at start and on every call), or
else the local OS user with role agent. The human at the terminal administers through the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from mcp_payments import catalog
from mcp_payments.server.callers import local_principal
from mcp_payments.services.commands import Kind
from tests.e2e.processes import create_key, full_env, isolated_env, serve_args
from tests.e2e.test_cli import assert_one_clear_line, cli
from tests.e2e.test_http_auth import expire
from tests.helpers import ok
from tests.server.listing import deployment

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def with_key(db_url: str, tmp_path: Path, key: str) -> StdioServerParameters:
    env = {**isolated_env(tmp_path), "MCP_PAYMENTS_API_KEY": key}
    return StdioServerParameters(command=sys.executable, args=serve_args(db_url), env=env)


async def test_without_a_key_the_caller_is_the_local_user_with_role_agent(db_url: str, tmp_path: Path) -> None:
    params = StdioServerParameters(command=sys.executable, args=serve_args(db_url), env=isolated_env(tmp_path))
    with anyio.fail_after(60):
        async with Client(params) as client:
            me = await ok(client, "whoami")
            await ok(client, "create_wallet", currency="USD", name="local")
            [record] = (await ok(client, "get_audit_log"))["records"]
    assert me["principal"] == local_principal()
    assert (me["role"], me["auth_mode"], me["credential_id"], me["expires_at"]) == ("agent", "process", None, None)
    assert (record["principal"], record["credential"]) == (local_principal(), None)


async def test_a_viewer_key_sees_only_read_tools_and_a_revoke_ends_its_calls_at_once(
    db_url: str, tmp_path: Path
) -> None:
    key = await create_key(db_url, tmp_path, "viewer", "dashboard", "--expires", "30d")
    async with deployment() as (_, specs):
        reads = {name for name, spec in specs.items() if spec.kind is Kind.READ}  # what a viewer is shown
    with anyio.fail_after(120):
        async with Client(with_key(db_url, tmp_path, key["key"])) as client:
            assert {t.name for t in (await client.list_tools()).tools} == reads
            me = await ok(client, "whoami")
            with pytest.raises(MCPError, match="create_wallet is a write tool and needs role agent or higher"):
                await client.call_tool("create_wallet", {"currency": "USD"})

            assert (await cli(tmp_path, "keys", "revoke", key["id"], "--db", db_url)).returncode == 0
            with pytest.raises(MCPError, match=f"API key {key['id']} was revoked at"):
                await client.call_tool("whoami", {})
    assert (me["principal"], me["role"], me["credential_id"]) == ("key:dashboard", "viewer", key["id"])
    assert (me["credential_type"], me["auth_mode"]) == ("api_key", "process")
    assert me["expires_at"] is not None
    assert me["toolsets"] == sorted(catalog.toolsets())
    assert me["tool_kinds"] == ["read"]


@pytest.mark.parametrize("state", ["unknown", "revoked", "expired", "malformed"])
async def test_stdio_refuses_to_start_with_a_key_it_cannot_use(db_url: str, tmp_path: Path, state: str) -> None:
    key = await create_key(db_url, tmp_path, "agent")
    text = {
        "unknown": f"mcpp_key_{'0' * 26}_{'a' * 43}",
        "malformed": "sk_live_not_ours",
        "revoked": key["key"],
        "expired": key["key"],
    }[state]
    if state == "revoked":
        assert (await cli(tmp_path, "keys", "revoke", key["id"], "--db", db_url)).returncode == 0
    if state == "expired":
        await expire(db_url, key["id"])
    with anyio.fail_after(60):
        done = await anyio.run_process(
            [sys.executable, *serve_args(db_url)],
            stdin=subprocess.DEVNULL,
            env={**full_env(tmp_path), "MCP_PAYMENTS_API_KEY": text},
            check=False,
        )
    assert done.returncode != 0
    assert done.stdout == b""
    phrase = {"unknown": "is not known here", "revoked": "was revoked at", "expired": "expired at"}.get(
        state, "malformed"
    )
    line = assert_one_clear_line(done.stderr, "MCP_PAYMENTS_API_KEY", phrase, "mcp-payments keys create")
    assert text not in line
