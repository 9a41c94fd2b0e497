"""Server processes for end-to-end tests: launch commands, environments, readiness and clean shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
from anyio.abc import Process
from mcp.client import Transport
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60  # generous: a 2-core machine running other suites starts Python slowly


def serve_args(db_url: str, *extra: str) -> list[str]:
    return ["-m", "mcp_payments", "serve", "--db", db_url, *extra]


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """What the server needs beyond the default environment: its data dir (secrets.json) inside tmp_path."""
    return {"XDG_DATA_HOME": str(tmp_path / "xdg-data")}


def full_env(tmp_path: Path) -> dict[str, str]:
    """This process's environment without MCP_PAYMENTS_* settings, data dir isolated."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_PAYMENTS_")}
    return {**env, **isolated_env(tmp_path)}


def stdio_params(db_url: str, tmp_path: Path, *extra: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=serve_args(db_url, *extra), env=isolated_env(tmp_path))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


async def wait_until_listening(process: Process, port: int, log: Path, host: str = "127.0.0.1") -> None:
    """Poll until the port accepts a connection; fail fast with the server's log if it exits first."""
    with anyio.fail_after(STARTUP_SECONDS):
        while True:
            if process.returncode is not None:
                raise AssertionError(f"server exited with {process.returncode}:\n{await anyio.Path(log).read_text()}")
            try:
                stream = await anyio.connect_tcp(host, port)
            except OSError:
                await anyio.sleep(0.05)
                continue
            await stream.aclose()
            return


async def stop(process: Process) -> None:
    """Terminate, then kill if it does not go within a few seconds; always reaped."""
    with suppress(ProcessLookupError):  # it may exit between the check and the signal
        if process.returncode is None:
            process.terminate()
            with anyio.move_on_after(10):
                await process.wait()
        if process.returncode is None:
            process.kill()
    await process.aclose()


@dataclass
class Served:
    """A `serve --transport http|sse` process."""

    process: Process
    host: str
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def ready(self) -> None:
        await wait_until_listening(self.process, self.port, self.log, self.host)


@asynccontextmanager
async def launched(
    transport: str,
    db_url: str,
    tmp_path: Path,
    *extra: str,
    host: str = "127.0.0.1",
    env: dict[str, str] | None = None,
) -> AsyncIterator[Served]:
    """`serve --transport http|sse` on a free port, not waited for (Served.ready() does that); stopped afterwards.

    `env` is added to full_env(tmp_path)."""
    port = free_port(host)
    log = tmp_path / f"{transport}-{port}.log"
    with log.open("wb") as out:
        process = await anyio.open_process(
            [
                sys.executable,
                *serve_args(db_url, "--transport", transport, "--host", host, "--port", str(port), *extra),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env={**full_env(tmp_path), **(env or {})},
        )
        try:
            yield Served(process, host, port, log)
        finally:
            await stop(process)


@asynccontextmanager
async def network_server(
    transport: str, db_url: str, tmp_path: Path, *extra: str, host: str = "127.0.0.1", env: dict[str, str] | None = None
) -> AsyncIterator[str]:
    """`serve --transport http|sse` on a free port; yields its base URL once it listens and stops it afterwards."""
    async with launched(transport, db_url, tmp_path, *extra, host=host, env=env) as server:
        await server.ready()
        yield server.base


async def run_tree(command: list[str], tmp_path: Path, name: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run a command that starts children of its own (npx); if cancelled (fail_after), kill its whole group."""
    out_path, err_path = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = await anyio.open_process(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, start_new_session=True
        )
        try:
            await process.wait()
        finally:
            if process.returncode is None:
                os.killpg(process.pid, signal.SIGKILL)
            await process.aclose()
    assert process.returncode is not None
    return process.returncode, out_path.read_text(), err_path.read_text()


def shared_secrets(secret_key: str, webhook_secrets: tuple[str, ...]) -> dict[str, str]:
    """The environment of replicas that share one deployment's keys (as they must)."""
    return {"MCP_PAYMENTS_SECRET_KEY": secret_key, "MCP_PAYMENTS_WEBHOOK_SECRETS": ",".join(webhook_secrets)}


@asynccontextmanager
async def worker(db_url: str, tmp_path: Path, name: str, *extra: str, env: dict[str, str]) -> AsyncIterator[Process]:
    """A `mcp-payments worker` process, its log in tmp_path/<name>.log; stopped (terminated, killed if need be,
    always reaped) afterwards. `env` is added to full_env of its own data dir."""
    log = tmp_path / f"{name}.log"
    with log.open("wb") as out:
        process = await anyio.open_process(
            [sys.executable, "-m", "mcp_payments", "worker", "--db", db_url, *extra],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env={**full_env(tmp_path / name), **env},
        )
        try:
            yield process
        finally:
            await stop(process)


async def create_key(db_url: str, tmp_path: Path, role: str, name: str | None = None, *extra: str) -> dict[str, Any]:
    """`mcp-payments keys create --json` as an administrator runs it: {"key", "id", "name", "role", ...}."""
    command = [sys.executable, "-m", "mcp_payments", "keys", "create", "--role", role, "--name", name or f"{role}-bot"]
    with anyio.fail_after(STARTUP_SECONDS):
        done = await anyio.run_process(
            [*command, "--db", db_url, "--json", *extra], stdin=subprocess.DEVNULL, env=full_env(tmp_path), check=False
        )
    assert done.returncode == 0, done.stderr.decode()
    created: dict[str, Any] = json.loads(done.stdout)
    return created


@asynccontextmanager
async def with_token(transport: str, base: str, token: str | None) -> AsyncIterator[Transport]:
    """A client transport to `serve --transport http|sse` at `base` that sends `token` as its bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if transport == "sse":
        yield sse_client(f"{base}/sse", headers=headers)
        return
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300)) as http:
        yield streamable_http_client(f"{base}/mcp", http_client=http)
