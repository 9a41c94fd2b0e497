"""Live updates across server processes (issue 15): a client following a wallet on replica A is told within a
second about a transfer made through replica B on the same PostgreSQL, in both protocol eras; a refused (rolled
back) change is never announced. On SQLite, one process tells its own subscribers the same way."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.test_two_processes import server_process
from tests.helpers import err, ok
from tests.views.following import LEGACY, MODERN, following, next_uri

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def connect(url: str) -> Any:
    def client(**options: Any) -> Client:
        return Client(streamable_http_client(url), **options)

    return client


async def wallet(client: Client, name: str, funds: str | None = None) -> str:
    wallet_id = str((await ok(client, "create_wallet", currency="USD", name=name))["wallet"]["id"])
    if funds is not None:
        await ok(client, "fund_wallet", wallet_id=wallet_id, currency="USD", amount=funds)
    return wallet_id


async def transfer(client: Client, source: str, target: str, amount: str) -> dict[str, Any]:
    arguments = {"source_wallet_id": source, "destination_wallet_id": target, "currency": "USD", "amount": amount}
    if amount == "1000.00":
        return await err(client, "transfer_funds", **arguments)
    return await ok(client, "transfer_funds", **arguments)


async def told_about_b(url_a: str, url_b: str, era: str) -> None:
    """Follow two wallets through A; move money (and fail to) through B."""
    async with Client(streamable_http_client(url_b)) as b:
        source, target = await wallet(b, f"source-{era}", "10.00"), await wallet(b, f"target-{era}")
        uris = [f"payments://wallets/{source}", f"payments://wallets/{target}"]
        async with following(connect(url_a), uris, era) as (_, updates):
            refused = await transfer(b, source, target, "1000.00")
            await ok(b, "fund_wallet", wallet_id=target, currency="USD", amount="1.00")
            # Announced in commit order: had the refused transfer been announced, the source would come first.
            assert await next_uri(updates) == uris[1]
            await transfer(b, source, target, "4.00")
            told = {await next_uri(updates), await next_uri(updates)}
    assert refused["code"] == "insufficient_funds"
    assert told == set(uris)


@pytest.mark.parametrize("era", [LEGACY, MODERN])
@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_transfer_through_replica_b_reaches_a_subscriber_on_replica_a(
    backend: str, db_url: str, tmp_path: Path, era: str
) -> None:
    async with AsyncExitStack() as processes:
        url_a = await processes.enter_async_context(server_process("a", db_url, tmp_path))
        url_b = await processes.enter_async_context(server_process("b", db_url, tmp_path))
        with anyio.fail_after(120):
            await told_about_b(url_a, url_b, era)


@pytest.mark.parametrize("era", [LEGACY, MODERN])
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_on_sqlite_one_process_tells_its_own_subscribers(
    backend: str, db_url: str, tmp_path: Path, era: str
) -> None:
    async with server_process("one", db_url, tmp_path) as url:
        with anyio.fail_after(120):
            await told_about_b(url, url, era)
