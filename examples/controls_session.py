"""An agent hits its approval threshold, another principal approves, and the call runs once, over stdio.

Sets the local user's approval threshold to 50.00 USD from the terminal (`mcp-payments limits set`), starts the
server on stdio as an MCP host does, and as the agent asks to move 50.01 USD: the answer is a pending approval,
not an error, and nothing moves. The human at the terminal approves it (`mcp-payments approvals approve`, as
cli:<OS user>, another principal), and the agent reads the outcome: the transfer ran once. The audit log shows
who asked and who approved.

    .venv/bin/python examples/controls_session.py                 # a throwaway SQLite database
    .venv/bin/python examples/controls_session.py --db postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from typing import Any

from _runner import run
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

ENV = {**os.environ, "MCP_PAYMENTS_LOG_LEVEL": "WARNING"}  # keep the demo's output to the session


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        raise SystemExit(f"{tool} failed: {result.content[0].text}")  # type: ignore[union-attr]
    assert result.structured_content is not None
    return dict(result.structured_content)


def terminal(*args: str) -> str:
    """What the human at the terminal types: `mcp-payments ...`, here as this Python's -m mcp_payments."""
    argv = [sys.executable, "-m", "mcp_payments", *args]
    done = subprocess.run(argv, env=ENV, capture_output=True, text=True, check=False)  # noqa: S603  # our own CLI
    if done.returncode != 0:
        raise SystemExit(f"mcp-payments {args[0]} failed: {done.stderr.strip().splitlines()[-1]}")
    return done.stdout.strip()


async def session(db_url: str) -> None:
    agent = f"local:{getpass.getuser()}"
    terminal("limits", "set", "--principal", agent, "--currency", "USD", "--approval-above", "50.00", "--db", db_url)
    print(f"$ mcp-payments limits set --principal {agent} --currency USD --approval-above 50.00")
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_payments", "serve", "--db", db_url], env=ENV
    )
    async with Client(server) as client:
        savings = (await call(client, "create_wallet", currency="USD", name="savings"))["wallet"]["id"]
        landlord = (await call(client, "create_wallet", currency="USD", name="landlord"))["wallet"]["id"]
        await call(client, "fund_wallet", wallet_id=savings, currency="USD", amount="100.00")

        move = {"source_wallet_id": savings, "destination_wallet_id": landlord, "currency": "USD", "amount": "50.01"}
        pending = await call(client, "transfer_funds", **move, idempotency_key="rent-january")
        print(f"agent asks for 50.01 USD: {pending['status']} ({pending['approval_id']})")
        print(f"  {pending['message']}")
        landlord_has = (await call(client, "get_wallet", wallet_id=landlord))["posted"]["amount"]
        print(f"landlord has {landlord_has} USD while it waits")

        print("$ mcp-payments approvals list")
        print(terminal("approvals", "list", "--db", db_url))
        print(f"$ mcp-payments approvals approve {pending['approval_id']}")
        print(terminal("approvals", "approve", pending["approval_id"], "--db", db_url))

        retry = await call(client, "transfer_funds", **move, idempotency_key="rent-january")
        outcome = await call(client, "get_approval", approval_id=pending["approval_id"])
        landlord_has = (await call(client, "get_wallet", wallet_id=landlord))["posted"]["amount"]
        print(f"agent retries: {retry['status']}, deduplicated={retry['deduplicated']} (nothing is asked twice)")
        print(f"approval {outcome['status']} by {outcome['decided_by']}; landlord has {landlord_has} USD")
        if landlord_has != "50.01":
            raise SystemExit("the approved transfer did not run exactly once")

        records = (await call(client, "get_audit_log", limit=20))["records"]
        for r in reversed(records):
            if pending["approval_id"] in r["entity_ids"]:
                print(f"audit: {r['principal']} {r['tool']} -> {r['outcome']}")


if __name__ == "__main__":
    run(session, __doc__)
