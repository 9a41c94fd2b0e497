"""A real `mcp-payments serve` subprocess on stdio, driven by the SDK's stdio client."""

import json
import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client, IncomingMessage
from mcp.client.stdio import stdio_client

from mcp_payments.server.callers import local_principal
from tests.e2e.processes import full_env, serve_args, stdio_params
from tests.helpers import ok

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_a_stdio_server_lists_tools_and_creates_and_reads_a_wallet(db_url: str, tmp_path: Path) -> None:
    stray: list[Exception] = []

    async def on_message(message: IncomingMessage) -> None:
        # A line on stdout that is not JSON-RPC arrives here as an exception.
        if isinstance(message, Exception):
            stray.append(message)

    with anyio.fail_after(60):
        async with Client(stdio_params(db_url, tmp_path), message_handler=on_message) as client:
            tools = (await client.list_tools()).tools
            created = await ok(client, "create_wallet", currency="EUR", name="stdio")
            wallet = await ok(client, "get_wallet", wallet_id=created["wallet"]["id"])
            health = await ok(client, "get_service_health")

    assert {"create_wallet", "get_wallet", "transfer_funds", "get_service_health"} <= {t.name for t in tools}
    assert all(t.input_schema.get("type") == "object" for t in tools)
    assert wallet["id"] == created["wallet"]["id"]
    assert wallet["available"] == {"amount": "0.00", "amount_minor": 0, "currency": "EUR"}
    assert health["status"] == "ok"
    assert health["database_backend"] == ("postgresql" if db_url.startswith("postgresql") else "sqlite")
    assert stray == [], "something other than JSON-RPC was written to stdout"


async def test_a_stdio_server_logs_canonical_json_lines_to_stderr_only(db_url: str, tmp_path: Path) -> None:
    stderr_path = tmp_path / "server.err"
    with anyio.fail_after(60), stderr_path.open("w") as stderr:
        async with Client(stdio_client(stdio_params(db_url, tmp_path), errlog=stderr)) as client:
            await ok(client, "create_wallet", currency="USD", name="logged")
            await ok(client, "list_wallets")

    text = stderr_path.read_text()
    assert "Traceback" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    calls = [line for line in lines if line.get("event") == "tool_call"]
    assert [(c["tool"], c["outcome"], c["principal"]) for c in calls] == [
        ("create_wallet", "ok", local_principal()),
        ("list_wallets", "ok", local_principal()),
    ]
    assert all(isinstance(c["duration_ms"], float | int) for c in calls)


async def test_a_stdio_server_writes_only_json_rpc_to_stdout_and_exits_when_stdin_closes(
    db_url: str, tmp_path: Path
) -> None:
    requests = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    stdin = "".join(json.dumps(r) + "\n" for r in requests).encode()
    # Closing stdin right away also races shutdown against the startup sweep of due work.
    with anyio.fail_after(60):
        done = await anyio.run_process(
            [sys.executable, *serve_args(db_url)], input=stdin, env=full_env(tmp_path), check=False
        )
    assert done.returncode == 0, done.stderr.decode()
    messages = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert messages, "no response at all"
    assert all(m.get("jsonrpc") == "2.0" for m in messages), messages
    assert any(m.get("id") == 1 and "result" in m for m in messages)
    assert "Traceback" not in done.stderr.decode()


async def test_closing_stdin_stops_the_server_every_time(tmp_path: Path) -> None:
    # Regression: a due-work pass cancelled mid-query left an aiosqlite connection closing forever.
    url = f"sqlite:///{tmp_path / 'race.db'}"
    for _ in range(3):
        with anyio.fail_after(60):
            done = await anyio.run_process(
                [sys.executable, *serve_args(url)], stdin=subprocess.DEVNULL, env=full_env(tmp_path), check=False
            )
        assert done.returncode == 0, done.stderr.decode()
        assert done.stdout == b""


async def started_then_signalled(
    db_url: str, tmp_path: Path, signum: signal.Signals, stdin: int, stdout: int
) -> tuple[int | None, str]:
    """Start `serve` on stdio, wait until it serves, send `signum`; its exit code (None: still running 10 s
    later, then killed) and its stderr."""
    process = await anyio.open_process(
        [sys.executable, *serve_args(db_url)],
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=full_env(tmp_path),
    )
    assert process.stderr is not None
    said = b""
    try:
        with anyio.fail_after(60):
            while b'"serving"' not in said:
                said += await process.stderr.receive()
        process.send_signal(signum)
        with anyio.move_on_after(10):
            await process.wait()
        code = process.returncode
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        async for chunk in process.stderr:
            said += chunk
        await process.aclose()
    return code, said.decode()


async def test_ctrl_c_at_a_terminal_stops_the_server_at_once(db_url: str, tmp_path: Path) -> None:
    terminal, server_side = pty.openpty()  # stdin and stdout a terminal, as `./scripts/serve` typed in a shell
    try:
        code, said = await started_then_signalled(db_url, tmp_path, signal.SIGINT, server_side, server_side)
    finally:
        os.close(server_side)
        os.close(terminal)
    assert code == 0, said
    assert "press Ctrl+C to stop" in said
    assert '"signal":"SIGINT","event":"stopping"' in said
    assert "Traceback" not in said


async def test_sigterm_stops_a_server_whose_client_keeps_stdin_open(db_url: str, tmp_path: Path) -> None:
    reading, writing = os.pipe()  # a client that neither writes nor closes its end
    try:
        code, said = await started_then_signalled(db_url, tmp_path, signal.SIGTERM, reading, subprocess.DEVNULL)
    finally:
        os.close(reading)
        os.close(writing)
    assert code == 0, said
    assert "press Ctrl+C" not in said, "not a terminal: no one to tell"
    assert "Traceback" not in said
