"""The resources (server/resources.py) through a real MCP client, both protocol eras, both databases: discovered by
their templates, checked against the caller's role, and a clear JSON-RPC error for a bad or unknown id."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp.client import Client
from mcp.shared.exceptions import MCPError

from mcp_payments.domain.roles import Role
from tests.conftest import Stack
from tests.controls.test_approvals import AGENT, DOLLAR, client_as, held_transfer, wallets
from tests.controls.test_spending_limits import set_policy
from tests.helpers import ok

pytestmark = pytest.mark.anyio
ERAS = ["legacy", "2026-07-28"]


@pytest.fixture(params=ERAS)
def era(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def read(client: Client, uri: str) -> dict[str, Any]:
    result = await client.read_resource(uri)
    [content] = result.contents
    assert content.mime_type == "application/json"
    return dict(json.loads(content.text))  # type: ignore[union-attr]


async def refused(client: Client, uri: str) -> MCPError:
    with pytest.raises(MCPError) as raised:
        await client.read_resource(uri)
    return raised.value


async def test_the_resources_are_discoverable_by_template_and_by_name(stack: Stack, era: str) -> None:
    async with Client(stack.server, mode=era) as client:  # type: ignore[arg-type]
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
    resources = {uri for uri in listed if not uri.startswith("ui://")}  # the MCP Apps views: tests/apps

    assert templates == {"payments://wallets/{wallet_id}{?cursor,limit}", "payments://payments/{payment_id}"}
    assert resources == {"payments://approvals/pending", "payments://dashboard"}


async def test_a_wallet_resource_shows_the_balances_and_statement_the_tools_show(stack: Stack, era: str) -> None:
    async with Client(stack.server, mode=era) as client:  # type: ignore[arg-type]
        wallet = (await ok(client, "create_wallet", currency="USD"))["wallet"]["id"]
        for amount in ("1.00", "2.00", "3.00"):
            await ok(client, "fund_wallet", wallet_id=wallet, currency="USD", amount=amount)
        first = await read(client, f"payments://wallets/{wallet}?limit=2")
        rest = await read(client, f"payments://wallets/{wallet}?limit=2&cursor={first['next_cursor']}")
        tool = await ok(client, "get_wallet", wallet_id=wallet)

    assert first["wallet"] == tool
    assert [line["amount"]["amount"] for line in first["lines"]] == ["3.00", "2.00"]
    assert [line["amount"]["amount"] for line in rest["lines"]] == ["1.00"]
    assert rest["next_cursor"] is None


async def test_a_payment_resource_is_get_payment_with_its_timeline(stack: Stack, era: str) -> None:
    async with Client(stack.server, mode=era) as client:  # type: ignore[arg-type]
        made = await ok(client, "create_payment", currency="USD", amount="20.00", payment_method="pm_card_visa")
        payment_id = made["payment"]["id"]
        await ok(client, "refund_payment", payment_id=payment_id, amount="5.00")
        found = await read(client, f"payments://payments/{payment_id}")
        tool = await ok(client, "get_payment", payment_id=payment_id)

    assert {k: v for k, v in found.items() if k != "timeline"} == tool
    kinds = [s["kind"] for s in found["timeline"]]
    assert kinds[0] == "created"
    assert "refund" in kinds
    assert "ledger" in kinds
    assert [s["amount"]["amount"] for s in found["timeline"] if s["kind"] == "refund"] == ["5.00"]


async def test_an_unknown_id_is_a_clear_not_found_error(stack: Stack, era: str) -> None:
    async with Client(stack.server, mode=era) as client:  # type: ignore[arg-type]
        wallet = await refused(client, "payments://wallets/wal_01JB0000000000000000000000")
        payment = await refused(client, "payments://payments/pay_01JB0000000000000000000000")

    assert (wallet.error.code, wallet.error.data["code"]) == (-32002, "wallet_not_found")
    assert (payment.error.code, payment.error.data["code"]) == (-32002, "payment_not_found")
    assert "list_wallets" in wallet.error.message or "create_wallet" in wallet.error.message


@pytest.mark.parametrize(
    "uri",
    [
        "payments://wallets/wal_%0A%1B[31mred",
        "payments://wallets/" + "wal_" + "A" * 5000,
        "payments://wallets/4242424242424242",
        "payments://payments/pay_..%2F..%2Fetc",
        "payments://wallets/wal_1?limit=100000000000000000000",
        "payments://wallets/wal_1?cursor=%00%01",
        "payments://nothing/here",
    ],
)
async def test_a_hostile_uri_is_a_clear_error_that_echoes_nothing(stack: Stack, uri: str) -> None:
    async with Client(stack.server) as client:
        error = await refused(client, uri)

    assert error.error.code in (-32602, -32002)
    assert "4242424242424242" not in error.error.message
    assert "\x1b" not in error.error.message
    assert "AAAAAAAAAA" not in error.error.message
    assert "Error reading" not in error.error.message


async def test_the_approval_queue_is_everyones_for_an_operator_and_ones_own_for_anyone_else(
    clocked_stack: Stack,
) -> None:
    await set_policy(clocked_stack, AGENT, approval_above=50 * DOLLAR)
    async with client_as(clocked_stack, AGENT, Role.AGENT) as agent:
        source, destination = await wallets(agent)
        held = (await held_transfer(agent, source, destination)).structured_content or {}
        mine = await read(agent, "payments://approvals/pending")
    async with client_as(clocked_stack, "key:ops", Role.OPERATOR) as operator:
        everyone = await read(operator, "payments://approvals/pending")
        dashboard = await read(operator, "payments://dashboard")
    async with client_as(clocked_stack, "key:viewer", Role.VIEWER) as viewer:
        other = await read(viewer, "payments://approvals/pending")
        seen = await read(viewer, "payments://dashboard")

    assert [a["id"] for a in mine["approvals"]] == [held["approval_id"]]
    assert mine["scope"] == "own"
    assert [a["id"] for a in everyone["approvals"]] == [held["approval_id"]]
    assert everyone["scope"] == "everyone"
    assert other["approvals"] == []
    assert seen["pending_approvals"] == 0
    assert dashboard["pending_approvals"] == 1
    assert dashboard["balances"]["total_wallets"] == 2


async def test_a_deployment_without_a_toolset_has_none_of_its_resources(db_url: str) -> None:
    from mcp_payments.bootstrap import application
    from mcp_payments.config import Settings
    from tests.conftest import TEST_SECRETS

    settings = Settings(db_url=db_url, toolsets=frozenset({"wallets"}), **TEST_SECRETS)
    async with application(settings) as (server, _, _), Client(server) as client:
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        listed = (await client.list_resources()).resources
        error = await refused(client, "payments://dashboard")

    assert templates == {"payments://wallets/{wallet_id}{?cursor,limit}"}
    assert [r for r in listed if not str(r.uri).startswith("ui://")] == []  # the MCP Apps views: tests/apps
    assert error.error.code == -32602
