"""An agent's session with mcp-payments over stdio, as a script.

Starts the server as a subprocess on stdio, as an MCP host does (this Python's `-m mcp_payments serve`, where
Claude Desktop runs scripts/serve), opens two wallets, funds one, transfers, reserves and captures part of a
hold, then prints the statement and checks the ledger and the audit chain.

    .venv/bin/python examples/wallet_session.py                 # a throwaway SQLite database
    .venv/bin/python examples/wallet_session.py --db postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import json
import os
import sys
from decimal import Decimal
from typing import Any

import anyio
from _runner import run
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        raise SystemExit(f"{tool} failed: {result.content[0].text}")  # type: ignore[union-attr]
    assert result.structured_content is not None
    return dict(result.structured_content)


async def session(db_url: str) -> None:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_payments", "serve", "--db", db_url],
        env={**os.environ, "MCP_PAYMENTS_LOG_LEVEL": "WARNING"},  # keep the demo's output to the session
    )
    async with Client(server) as client:
        tools = await client.list_tools()
        print(f"connected: {len(tools.tools)} tools")

        alice = (await call(client, "create_wallet", currency="USD", name="alice"))["wallet"]["id"]
        bob = (await call(client, "create_wallet", currency="USD", name="bob"))["wallet"]["id"]
        await call(
            client, "fund_wallet", wallet_id=alice, currency="USD", amount="250.00", idempotency_key=f"topup-{alice}"
        )
        # A retry with the same key is answered from storage: nothing is paid twice.
        again = await call(
            client, "fund_wallet", wallet_id=alice, currency="USD", amount="250.00", idempotency_key=f"topup-{alice}"
        )
        print(f"retried top-up deduplicated: {again['deduplicated']}")

        moved = await call(
            client,
            "transfer_funds",
            source_wallet_id=alice,
            destination_wallet_id=bob,
            currency="USD",
            amount="40.00",
            memo="dinner",
        )
        print(
            f"transfer {moved['transaction']['id']}: alice {moved['source']['available']['amount']}, "
            f"bob {moved['destination']['available']['amount']}"
        )

        hold = (
            await call(client, "hold_funds", wallet_id=alice, currency="USD", amount="100.00", memo="hotel deposit")
        )["hold"]
        captured = (await call(client, "capture_hold", hold_id=hold["id"], amount="80.00", destination_wallet_id=bob))[
            "hold"
        ]
        held, taken = Decimal(captured["amount"]["amount"]), Decimal(captured["captured"]["amount"])
        print(f"alice's hold of {held} USD (hotel deposit): {taken} captured for bob, {held - taken} released")

        refused = await client.call_tool(
            "withdraw_from_wallet", {"wallet_id": bob, "currency": "USD", "amount": "1000.00"}
        )
        message = json.loads(refused.content[0].text)["message"]  # type: ignore[union-attr]
        print(f"bob withdrawing 1000.00 USD is refused: {message.replace(bob, f'{bob} (bob)')}")

        statement = await call(client, "get_wallet_statement", wallet_id=alice)
        print("alice's statement (newest first):")
        for line in statement["lines"]:
            print(
                f"  {line['kind']:<14} {line['amount']['amount']:>9} {line['amount']['currency']}"
                f"  balance {line['balance_after']['amount']:>8}"
            )

        integrity = await call(client, "check_ledger_integrity")
        chain = await call(client, "verify_audit_chain")
        for _ in range(20):  # the server's sealer links new records into the chain every half second
            if not chain["unsealed_records"]:
                break
            await anyio.sleep(0.25)
            chain = await call(client, "verify_audit_chain")
        print(
            f"ledger ok: {integrity['ok']}; audit chain valid: {chain['valid']} ({chain['head_seq']} records "
            f"sealed, verified {chain['mode']}; {chain['unsealed_records']} waiting for the sealer)"
        )


if __name__ == "__main__":
    run(session, __doc__)
