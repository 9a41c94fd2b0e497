"""`serve --transport http` (streamable HTTP at /mcp) and `--transport sse` (at /sse) as real subprocesses, called
with an API key as a bearer token, or without one on loopback with --no-auth."""

from pathlib import Path

import anyio
import pytest
from mcp.client import Client, Transport
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from mcp_payments.domain.roles import Role
from tests.e2e.processes import create_key, network_server, with_token
from tests.helpers import funded_wallet, ok
from tests.server.listing import deployment, shown_to

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ERAS = [("auto", "2026-07-28"), ("legacy", "2025-11-25")]


async def exercise(transport: Transport, mode: str, backend: str) -> str:
    """List tools, move money and read it back; returns the negotiated protocol version."""
    async with deployment() as (_, specs):
        expected = shown_to(Role.AGENT, specs)  # the local user, as these servers serve it
    async with Client(transport, mode=mode) as client:
        assert {t.name for t in (await client.list_tools()).tools} == expected
        source = await funded_wallet(client, "20.00")
        destination = await funded_wallet(client, "0")
        await ok(
            client,
            "transfer_funds",
            source_wallet_id=source,
            destination_wallet_id=destination,
            currency="USD",
            amount="5",
        )
        assert (await ok(client, "get_wallet", wallet_id=destination))["posted"]["amount"] == "5.00"
        health = await ok(client, "get_service_health")
        assert health["status"] == "ok"
        assert health["database_backend"] == backend
        return client.protocol_version


@pytest.mark.parametrize("transport", ["http", "sse"])
async def test_a_network_server_serves_both_protocol_eras_to_a_caller_with_a_key(
    transport: str, backend: str, db_url: str, tmp_path: Path
) -> None:
    key = (await create_key(db_url, tmp_path, "agent"))["key"]
    async with network_server(transport, db_url, tmp_path) as base:
        for mode, version in ERAS:
            with anyio.fail_after(60):
                async with with_token(transport, base, key) as client_transport:
                    assert await exercise(client_transport, mode, backend) == version


@pytest.mark.parametrize("transport", ["http", "sse"])
async def test_a_network_server_with_no_auth_on_loopback_serves_callers_without_a_token(
    transport: str, backend: str, db_url: str, tmp_path: Path
) -> None:
    async with network_server(transport, db_url, tmp_path, "--no-auth") as base:
        client_transport = streamable_http_client(f"{base}/mcp") if transport == "http" else sse_client(f"{base}/sse")
        with anyio.fail_after(60):
            assert await exercise(client_transport, "auto", backend) == "2026-07-28"
