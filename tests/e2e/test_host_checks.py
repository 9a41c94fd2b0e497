"""DNS-rebinding protection of `serve --transport http|sse` off the loopback names the SDK protects by itself.

127.0.0.2 is a loopback address on Linux that the SDK does not recognise: bound there, it answered any Host.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx2
import pytest
from mcp.client import Client, Transport
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.processes import launched, network_server
from tests.e2e.test_cli import assert_one_clear_line, cli
from tests.helpers import ok

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

HOST = "127.0.0.2"
EXTRA_HOST = "payments.test"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "probe", "version": "0"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'payments.db'}"  # the checks are the transport's: one backend is enough


async def initialize(url: str, **headers: str) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=30) as http:
        return await http.post(url, json=INITIALIZE, headers={**MCP_HEADERS, **headers})


def assert_refused(response: httpx2.Response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert "serverInfo" not in response.text, "nothing was served"
    assert "mcp-session-id" not in response.headers


def assert_served(response: httpx2.Response) -> None:
    assert response.status_code == 200, (response.status_code, response.text)
    assert "serverInfo" in response.text


async def lists_tools_and_is_healthy(transport: Transport, mode: str = "auto") -> None:
    async with Client(transport, mode=mode) as client:
        assert "get_service_health" in {t.name for t in (await client.list_tools()).tools}
        assert (await ok(client, "get_service_health"))["status"] == "ok"


async def test_an_http_server_off_loopback_answers_only_its_own_names_and_origins(tmp_path: Path) -> None:
    env = {"MCP_PAYMENTS_ALLOWED_HOSTS": f"{EXTRA_HOST}:*"}
    async with launched("http", database(tmp_path), tmp_path, "--no-auth", host=HOST, env=env) as server:
        await server.ready()
        url, own = f"{server.base}/mcp", f"{HOST}:{server.port}"
        with anyio.fail_after(60):
            assert_refused(await initialize(url, Host="evil.example"), 421)
            assert_refused(await initialize(url, Host=f"evil.example:{server.port}"), 421)
            assert_refused(await initialize(url, Host=own, Origin="http://evil.example"), 403)
            assert_refused(await initialize(url, Host=own, Origin=f"http://evil.example:{server.port}"), 403)

            assert_served(await initialize(url, Host=own, Origin=f"http://{own}"))
            assert_served(await initialize(url, Host=f"{EXTRA_HOST}:{server.port}"))
            for mode in ("auto", "legacy"):  # both protocol eras
                await lists_tools_and_is_healthy(streamable_http_client(url), mode)

            for mode in ("auto", "legacy"):  # a real client sent through a rebound name gets nowhere either
                async with httpx2.AsyncClient(headers={"Host": "evil.example"}) as foreign:
                    with pytest.raises(Exception):  # noqa: PT011, B017  # what it raises is the client's; the log says why
                        await lists_tools_and_is_healthy(streamable_http_client(url, http_client=foreign), mode)
    log = await anyio.Path(server.log).read_text()
    # One refusal for the probe above and at least one for each client.
    # The SDK's warnings, through the one log configuration: JSON lines like every other.
    assert log.count('{"event":"Invalid Host header: evil.example","logger":"mcp.server.transport_security"') >= 3, log


async def test_an_sse_server_off_loopback_refuses_a_foreign_host_and_serves_its_own(tmp_path: Path) -> None:
    async with network_server("sse", database(tmp_path), tmp_path, "--no-auth", host=HOST) as base:
        with anyio.fail_after(60):
            async with httpx2.AsyncClient(timeout=30) as http:
                async with http.stream("GET", f"{base}/sse", headers={"Host": "evil.example"}) as response:
                    assert response.status_code == 421
                posted = await http.post(
                    f"{base}/messages/?session_id=00000000000000000000000000000000",
                    json=INITIALIZE,
                    headers={**MCP_HEADERS, "Host": "evil.example"},
                )
                assert posted.status_code == 421
            await lists_tools_and_is_healthy(sse_client(f"{base}/sse"))


async def test_the_default_loopback_server_still_answers_its_loopback_names_and_refuses_others(tmp_path: Path) -> None:
    async with launched("http", database(tmp_path), tmp_path, "--no-auth") as server:
        await server.ready()
        url = f"{server.base}/mcp"
        with anyio.fail_after(60):
            assert_served(await initialize(url, Host=f"127.0.0.1:{server.port}"))
            assert_served(
                await initialize(url, Host=f"localhost:{server.port}", Origin=f"http://localhost:{server.port}")
            )
            assert_refused(await initialize(url, Host="evil.example"), 421)


async def test_binding_every_interface_without_listed_hosts_stops_with_one_clear_line(tmp_path: Path) -> None:
    done = await cli(tmp_path, "serve", "--transport", "http", "--host", "0.0.0.0")  # noqa: S104  # the case
    assert done.returncode != 0
    assert_one_clear_line(done.stderr, "listens on every interface", "--allowed-hosts", "MCP_PAYMENTS_ALLOWED_HOSTS")


async def test_a_malformed_allowed_host_stops_the_server_with_one_clear_line(tmp_path: Path) -> None:
    done = await cli(tmp_path, "serve", "--transport", "http", "--allowed-hosts", "https://payments.example.com")
    assert done.returncode != 0
    assert_one_clear_line(done.stderr, "allowed host 'https://payments.example.com'", "a host, not a URL")
