"""MCP_PAYMENTS_OTEL_EXPORTER=console on a stdio server: a tool call's span reaches stderr with the tool's name,
and stdout stays the protocol (the client would fail on a stray line)."""

import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.e2e.processes import isolated_env, serve_args
from tests.helpers import ok

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_the_console_exporter_writes_the_tool_calls_span_to_stderr(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'otel.db'}"
    env = {**isolated_env(tmp_path), "MCP_PAYMENTS_OTEL_EXPORTER": "console"}
    params = StdioServerParameters(command=sys.executable, args=serve_args(db_url), env=env)
    stderr_path = tmp_path / "server.err"
    with anyio.fail_after(60), stderr_path.open("w") as stderr:
        async with Client(stdio_client(params, errlog=stderr)) as client:
            await ok(client, "get_service_health")
    text = stderr_path.read_text()
    assert '"name": "tools/call get_service_health"' in text
    assert '"gen_ai.tool.name": "get_service_health"' in text
