"""Cursors are opaque and tamper-evident: signed by the server and bound to the list they page."""

import pytest
from mcp.client import Client

from tests.helpers import err, funded_wallet, ok

pytestmark = pytest.mark.anyio


async def test_every_page_of_a_list_is_reached_with_the_cursors_it_hands_out(client: Client) -> None:
    made = {await funded_wallet(client, "0") for _ in range(5)}

    seen: list[str] = []
    cursor = None
    while True:
        page = await ok(client, "list_wallets", limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [w["id"] for w in page["wallets"]]
        if (cursor := page["next_cursor"]) is None:
            break

    assert set(seen) == made
    assert len(seen) == len(made)


async def test_a_cursor_from_another_list_is_refused(client: Client) -> None:
    for _ in range(3):
        await funded_wallet(client, "0")
    wallets_cursor = (await ok(client, "list_wallets", limit=1))["next_cursor"]

    for tool in ("list_payments", "list_customers"):
        refused = await err(client, tool, cursor=wallets_cursor)
        assert refused["code"] == "invalid_cursor", tool
    audit = await err(client, "get_audit_log", cursor=wallets_cursor)
    assert audit["code"] == "invalid_cursor"


async def test_a_statement_cursor_pages_only_the_wallet_it_came_from(client: Client) -> None:
    first, other = await funded_wallet(client, "10.00"), await funded_wallet(client, "10.00")
    for i in range(3):
        await ok(client, "fund_wallet", wallet_id=first, currency="USD", amount_minor=1, idempotency_key=f"top-up-{i}")
    cursor = (await ok(client, "get_wallet_statement", wallet_id=first, limit=1))["next_cursor"]

    same = await ok(client, "get_wallet_statement", wallet_id=first, limit=1, cursor=cursor)
    refused = await err(client, "get_wallet_statement", wallet_id=other, limit=1, cursor=cursor)

    assert len(same["lines"]) == 1
    assert refused["code"] == "invalid_cursor"
    assert refused["retryable"] is False


async def test_an_altered_cursor_is_refused(client: Client) -> None:
    for _ in range(3):
        await funded_wallet(client, "0")
    cursor = (await ok(client, "list_wallets", limit=1))["next_cursor"]
    body, mac = cursor.split(".")

    for altered in (body + "." + mac[::-1], body[:-1] + ("A" if body[-1] != "A" else "B") + "." + mac, body):
        refused = await err(client, "list_wallets", cursor=altered)
        assert refused["code"] == "invalid_cursor"
