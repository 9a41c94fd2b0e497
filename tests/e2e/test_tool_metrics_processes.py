"""get_tool_metrics across two `serve --transport http` processes on one PostgreSQL: each flushes its counts, and
either reports the calls of both; a process that stops flushes what it counted first."""

from contextlib import AsyncExitStack
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.test_two_processes import server_process
from tests.helpers import ok

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def health_calls(client: Client) -> int:
    tools = {t["tool"]: t for t in (await ok(client, "get_tool_metrics", window_minutes=15))["tools"]}
    return int(tools.get("get_service_health", {}).get("calls", 0))


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_two_server_processes_report_each_others_calls_and_a_stop_flushes_its_counts(
    backend: str, db_url: str, tmp_path: Path
) -> None:
    async with AsyncExitStack() as a_side, httpx2.AsyncClient(timeout=60) as http:
        url_a = await a_side.enter_async_context(
            server_process("a", db_url, tmp_path, {"MCP_PAYMENTS_METRICS_FLUSH_SECONDS": "0.2"})
        )
        a = await a_side.enter_async_context(Client(streamable_http_client(url_a, http_client=http)))
        with anyio.fail_after(120):
            # b flushes every 60 s: only its flush on stopping can bring its calls in.
            async with AsyncExitStack() as b_side:
                url_b = await b_side.enter_async_context(
                    server_process("b", db_url, tmp_path, {"MCP_PAYMENTS_METRICS_FLUSH_SECONDS": "60"})
                )
                b = await b_side.enter_async_context(Client(streamable_http_client(url_b, http_client=http)))
                for _ in range(2):
                    await ok(b, "get_service_health")
                for _ in range(3):
                    await ok(a, "get_service_health")
                assert await health_calls(a) == 3  # a's own, flushed or not; b's are still in b's memory
            assert await health_calls(a) == 5
