"""The in-memory client in both protocol eras: 2026-07-28 (stateless, the default) and 2025-11-25 (handshake)."""

import pytest
from mcp.client import Client

from mcp_payments.domain.roles import Role
from tests.conftest import Stack
from tests.helpers import funded_wallet, ok
from tests.server.listing import shown_to

pytestmark = pytest.mark.anyio

ERAS = [("auto", "2026-07-28"), ("legacy", "2025-11-25")]


@pytest.mark.parametrize(("mode", "version"), ERAS, ids=[v for _, v in ERAS])
async def test_a_client_of_either_protocol_era_lists_every_tool_and_moves_money(
    stack: Stack, mode: str, version: str
) -> None:
    async with Client(stack.server, mode=mode) as client:
        assert client.protocol_version == version
        listed = {tool.name for tool in (await client.list_tools()).tools}
        assert listed == shown_to(Role.AGENT, stack.box.specs)  # the in-memory caller is the local user, an agent

        source = await funded_wallet(client, "50.00")
        destination = await funded_wallet(client, "0")
        moved = await ok(
            client,
            "transfer_funds",
            source_wallet_id=source,
            destination_wallet_id=destination,
            currency="USD",
            amount="12.50",
            idempotency_key=f"era-{version}",
        )
        assert moved["source"]["available"]["amount"] == "37.50"
        assert moved["destination"]["available"]["amount"] == "12.50"
        assert (await ok(client, "check_ledger_integrity"))["ok"]
