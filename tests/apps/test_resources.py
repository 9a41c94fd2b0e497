"""The MCP Apps views as a client sees them without a browser: the extension advertised, each ui:// resource served
whole (script and style written in, nothing to fetch), and the tools that show in them marked with _meta.ui while
answering exactly as before."""

from __future__ import annotations

import re

import pytest
from mcp.client import Client
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from mcp_payments.bootstrap import application
from mcp_payments.config import Settings
from mcp_payments.server.views import APPROVAL, DASHBOARD, PAYMENT, WALLET
from tests.conftest import TEST_SECRETS
from tests.helpers import ok

pytestmark = pytest.mark.anyio

VIEWS = (DASHBOARD, PAYMENT, APPROVAL, WALLET)
# What a view must not do under the host's default content security policy: load or fetch anything.
REACHES_OUT = re.compile(r"""fetch\(|XMLHttpRequest|WebSocket|EventSource|import\(|(src|href)=["']?(https?:)?//""")


async def test_every_view_is_served_whole_with_nothing_to_fetch(client: Client) -> None:
    assert EXTENSION_ID in (client.server_capabilities.extensions or {})
    listed = {str(r.uri): r for r in (await client.list_resources()).resources}
    for uri in VIEWS:
        assert listed[uri].mime_type == APP_MIME_TYPE
        content = (await client.read_resource(uri)).contents[0]
        html = getattr(content, "text", "")
        assert content.mime_type == APP_MIME_TYPE
        assert "/*BRIDGE_JS*/" not in html
        assert "/*BASE_CSS*/" not in html
        assert '"ui/initialize"' in html
        assert "--color-background-primary" in html  # it follows the host's theme variables
        assert REACHES_OUT.search(html) is None, uri


async def test_the_tools_that_show_in_a_view_say_which_and_the_app_only_ones_say_so(client: Client) -> None:
    meta = {t.name: (t.meta or {}).get("ui") for t in (await client.list_tools()).tools}
    assert meta["open_dashboard"] == {"resourceUri": DASHBOARD}
    assert meta["dashboard_summary"] == {"resourceUri": DASHBOARD, "visibility": ["app"]}
    assert meta["get_payment"] == {"resourceUri": PAYMENT}
    assert meta["get_approval"] == {"resourceUri": APPROVAL}
    assert meta["transfer_funds"] == {"resourceUri": APPROVAL}  # a held call's result shows its card
    assert meta["get_wallet"] == {"resourceUri": WALLET}
    assert meta["wallet_statement_page"] == {"resourceUri": WALLET, "visibility": ["app"]}
    assert meta["list_payments"] is None


async def test_a_tool_shown_in_a_view_answers_a_client_without_apps_as_before(client: Client) -> None:
    wallet = (await ok(client, "create_wallet", currency="EUR", name="Payouts"))["wallet"]["id"]
    await ok(client, "fund_wallet", wallet_id=wallet, currency="EUR", amount="12.00")
    result = await client.call_tool("get_wallet", {"wallet_id": wallet})
    assert result.structured_content is not None
    assert result.structured_content["available"]["amount"] == "12.00"
    assert [c.type for c in result.content] == ["text"]  # the JSON text, no UI-only content
    summary = await ok(client, "open_dashboard")
    assert summary["balances"]["total_wallets"] == 1
    assert summary["balances"]["totals"][0]["available"]["amount"] == "12.00"


async def test_a_deployment_without_a_toolset_has_none_of_its_views(db_url: str) -> None:
    settings = Settings(db_url=db_url, toolsets=frozenset({"wallets", "payments"}), **TEST_SECRETS)
    async with application(settings) as (server, _, _), Client(server) as client:
        listed = {str(r.uri) for r in (await client.list_resources()).resources if str(r.uri).startswith("ui://")}
        meta = {t.name: (t.meta or {}).get("ui") for t in (await client.list_tools()).tools}

    assert listed == {WALLET, PAYMENT}
    assert meta["get_wallet"] == {"resourceUri": WALLET}
    assert meta["transfer_funds"] is None  # no approval card without the controls toolset to read and decide it
