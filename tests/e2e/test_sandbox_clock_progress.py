"""advance_sandbox_clock over stdio, as a real client calls it: an operator's key, progress notifications while the
due work runs, and the renewals done by the time the answer comes."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from tests.e2e.processes import create_key, isolated_env, serve_args
from tests.helpers import ok

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_an_operator_sees_progress_while_a_year_of_renewals_runs_over_stdio(db_url: str, tmp_path: Path) -> None:
    key = await create_key(db_url, tmp_path, "operator", "clock")
    env = {**isolated_env(tmp_path), "MCP_PAYMENTS_API_KEY": key["key"]}
    params = StdioServerParameters(command=sys.executable, args=serve_args(db_url), env=env)
    heard: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        heard.append((done, total, message))

    with anyio.fail_after(180):
        async with Client(params) as client:
            plan = await ok(client, "create_plan", name="Pro", currency="USD", amount="9.00", interval="month")
            for n in range(3):
                customer = await ok(client, "create_customer", email=f"p{n}@example.com")
                await ok(
                    client,
                    "create_subscription",
                    customer_id=customer["customer"]["id"],
                    plan_id=plan["plan"]["id"],
                    payment_method="pm_card_visa",
                )
            result = await client.call_tool("advance_sandbox_clock", {"by": "P1Y"}, progress_callback=progress)
            assert not result.is_error, result.content
            moved = result.structured_content
            assert moved is not None
            invoices = await ok(client, "list_invoices", limit=100)

    # The server's own due work runs beside the advance and may take some renewals: what the advance counts is
    # its share; the invoices are the whole.
    assert 0 < {j["job"]: j["done"] for j in moved["jobs"]}["renew_subscriptions"] <= 3 * 12
    assert len(invoices["invoices"]) == 3 * 13
    assert len(heard) >= 12, heard  # at least one per month's renewals, and the last
    assert [done for done, _, _ in heard] == sorted(done for done, _, _ in heard)
    done, total, _ = heard[-1]
    assert total is not None
    assert done == total > 300 * 86400
    assert any("renew_subscriptions" in (m or "") for _, _, m in heard)
