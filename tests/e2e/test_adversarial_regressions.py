"""The adversarial findings, replayed through real server processes over stdio and streamable HTTP.

Each defect of the money-correctness issue has its own, finer test elsewhere; here they go through
the whole stack a client reaches (a subprocess, JSON on the wire), on both databases.
"""

import json
from pathlib import Path

import anyio
import pytest
from mcp.client import Client, Transport
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.processes import network_server, stdio_params
from tests.helpers import err, funded_wallet, ok
from tests.payments.card_scan import card_numbers

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def replay_the_findings(transport: Transport) -> None:
    async with Client(transport) as client:
        source, destination = await funded_wallet(client, "100.00"), await funded_wallet(client, "0")

        # 1. Two keys that differ only inside a card-like number are two transfers.
        for key in ("order-7000000000054242-a", "order-7000000000134242-a"):
            moved = await ok(
                client,
                "transfer_funds",
                source_wallet_id=source,
                destination_wallet_id=destination,
                currency="USD",
                amount="1.00",
                idempotency_key=key,
            )
            assert moved["deduplicated"] is False
        assert (await ok(client, "get_wallet", wallet_id=destination))["posted"]["amount"] == "2.00"

        # 3. The largest JSON-exact integer is not an amount; nothing is stored as a float.
        too_large = await err(client, "fund_wallet", wallet_id=destination, currency="USD", amount_minor=2**53 - 1)
        assert too_large["code"] == "invalid_argument"

        # 4. A NUL in text, and cursors that were never issued, are clear refusals, never internal errors.
        nul = await err(client, "create_wallet", currency="USD", name="x\u0000y")
        assert (nul["code"], nul["retryable"]) == ("invalid_argument", False)
        for tool, position in (("get_audit_log", 99999999999999999999), ("list_wallets", "\u0000")):
            cursor = json.dumps({"after": position}).encode().hex()
            refused = await err(client, tool, cursor=cursor)
            assert refused["code"] == "invalid_cursor", tool

        # 7. A card number spelled with dots, in a memo, is masked in what comes back.
        funded = await ok(
            client, "fund_wallet", wallet_id=destination, currency="USD", amount="1.00", memo="card 4242.4242.4242.4242"
        )
        assert card_numbers(json.dumps(funded).replace(".", " ")) == []

        # 6. The receipt of a call is in the chain; the ledger and the chain agree.
        verdict = await ok(client, "verify_audit_chain", receipts=[funded["receipt"]])
        assert verdict["valid"], verdict["witness_problems"]
        assert (await ok(client, "check_ledger_integrity"))["ok"]


async def test_the_findings_do_not_reproduce_over_stdio(db_url: str, tmp_path: Path) -> None:
    with anyio.fail_after(90):
        await replay_the_findings(stdio_params(db_url, tmp_path))


async def test_the_findings_do_not_reproduce_over_streamable_http(db_url: str, tmp_path: Path) -> None:
    async with network_server("http", db_url, tmp_path, "--no-auth") as base:
        with anyio.fail_after(90):
            await replay_the_findings(streamable_http_client(f"{base}/mcp"))
