"""Analytics over a real `mcp-payments serve` on stdio: a payment, then its revenue summary with a chart, as an MCP
host would ask for it (the chart arrives as an image block beside the structured data)."""

import base64
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.types import ImageContent, TextContent

from tests.e2e.processes import stdio_params
from tests.helpers import ok

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_a_stdio_client_gets_the_revenue_summary_and_its_chart(db_url: str, tmp_path: Path) -> None:
    with anyio.fail_after(90):
        async with Client(stdio_params(db_url, tmp_path)) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            await ok(client, "create_payment", currency="USD", amount="25.00", payment_method="pm_card_visa")
            result = await client.call_tool("get_revenue_summary", {"currency": "USD", "chart": True})

    assert {"get_revenue_summary", "forecast_revenue", "get_subscription_metrics"} <= tools
    assert not result.is_error, result.content
    assert result.structured_content is not None
    [usd] = result.structured_content["currencies"]
    assert (usd["total"]["gross"], usd["total"]["fees"], usd["total"]["net"]) == ("25.00", "1.03", "23.97")
    summary, image = result.content[0], result.content[1]
    assert isinstance(summary, TextContent)
    assert "USD: gross 25.00, net 23.97" in summary.text
    assert isinstance(image, ImageContent)
    assert base64.b64decode(image.data).startswith(b"\x89PNG\r\n\x1a\n")
