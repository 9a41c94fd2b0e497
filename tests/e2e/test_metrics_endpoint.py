"""/metrics on `serve --transport http|sse`: after a tool call, a scrape parses with prometheus_client's own text
parser and counts the call by tool and outcome, with its latency histogram, the jobs and the connection pools."""

from pathlib import Path

import anyio
import httpx2
import pytest
from mcp.client import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.processes import create_key, network_server, with_token
from tests.helpers import err, ok

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(base: str, token: str | None = None) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(timeout=30) as http:
        return await http.get(f"{base}/metrics", headers=headers)


@pytest.mark.parametrize("transport", ["http", "sse"])
async def test_a_scrape_after_a_call_counts_it_by_tool_and_outcome_with_its_latency(
    transport: str, backend: str, db_url: str, tmp_path: Path
) -> None:
    key = (await create_key(db_url, tmp_path, "agent"))["key"]
    async with network_server(transport, db_url, tmp_path) as base:
        with anyio.fail_after(60):
            async with with_token(transport, base, key) as client_transport, Client(client_transport) as client:
                await ok(client, "get_service_health")
                await err(client, "get_wallet", wallet_id="wal_missing")
            response = await scrape(base)  # open: HTTP auth guards /mcp, not the counts (see the README)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    assert found[("mcp_payments_tool_calls_total", (("outcome", "ok"), ("tool", "get_service_health")))] == 1
    assert found[("mcp_payments_tool_calls_total", (("outcome", "wallet_not_found"), ("tool", "get_wallet")))] == 1
    count = ("mcp_payments_tool_call_duration_seconds_count", (("outcome", "ok"), ("tool", "get_service_health")))
    assert found[count] == 1
    assert any(name == "mcp_payments_tool_call_duration_seconds_bucket" for name, _ in found)
    assert any(name == "mcp_payments_db_pool_size" for name, _ in found)
    assert key not in response.text


async def test_with_a_metrics_token_a_scrape_needs_it(backend: str, db_url: str, tmp_path: Path) -> None:
    env = {"MCP_PAYMENTS_METRICS_TOKEN": "scrape-secret-1234"}
    async with network_server("http", db_url, tmp_path, "--no-auth", env=env) as base:
        with anyio.fail_after(60):
            refused = await scrape(base)
            wrong = await scrape(base, "not-it")
            allowed = await scrape(base, "scrape-secret-1234")
    assert refused.status_code == 401
    assert "MCP_PAYMENTS_METRICS_TOKEN" in refused.text
    assert wrong.status_code == 401
    assert allowed.status_code == 200
    assert "mcp_payments_db_pool_size" in allowed.text
