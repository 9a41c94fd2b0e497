"""An agent hits its approval threshold and the human at its client approves in the chat: the call runs once.

Sets the local user's approval threshold to 50.00 USD from the terminal, starts the server on stdio as an MCP host
does, with a client that supports elicitation (as Claude Desktop does; here the "human" is a callback that prints
the question and answers). Asked to move 50.01 USD, the server asks the human first: yes runs the transfer at once,
exactly once; no to a second one rejects it, and nothing moves. The audit log shows the answers as the human's,
through the agent's client.

    .venv/bin/python examples/approve_in_chat.py                 # a throwaway SQLite database
    .venv/bin/python examples/approve_in_chat.py --db postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import getpass
import json
import sys

from _runner import run
from controls_session import ENV, call, terminal
from mcp.client import Client
from mcp.client.context import ClientRequestContext
from mcp.client.stdio import StdioServerParameters
from mcp.types import ElicitRequestParams, ElicitResult

answers = ["accept", "decline"]  # what the human says to each question, in turn


async def human(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
    answer = answers.pop(0)
    print(f"server asks the human: {params.message}\n  human: {answer}")
    return ElicitResult(action=answer, content={"approve": True} if answer == "accept" else None)  # type: ignore[arg-type]


async def session(db_url: str) -> None:
    agent = f"local:{getpass.getuser()}"
    terminal("limits", "set", "--principal", agent, "--currency", "USD", "--approval-above", "50.00", "--db", db_url)
    print(f"$ mcp-payments limits set --principal {agent} --currency USD --approval-above 50.00")
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_payments", "serve", "--db", db_url], env=ENV
    )
    async with Client(server, elicitation_callback=human) as client:
        savings = (await call(client, "create_wallet", currency="USD", name="savings"))["wallet"]["id"]
        landlord = (await call(client, "create_wallet", currency="USD", name="landlord"))["wallet"]["id"]
        await call(client, "fund_wallet", wallet_id=savings, currency="USD", amount="200.00")
        move = {"source_wallet_id": savings, "destination_wallet_id": landlord, "currency": "USD"}

        moved = await call(client, "transfer_funds", **move, amount="50.01", idempotency_key="rent-january")
        print(f"agent asked for 50.01 USD: ran as {moved['transaction']['id']}")
        declined = await client.call_tool("transfer_funds", {**move, "amount": "60.00"})
        refusal = json.loads(declined.content[0].text)  # type: ignore[union-attr]
        print(f"agent asked for 60.00 USD: {refusal['code']}")
        landlord_has = (await call(client, "get_wallet", wallet_id=landlord))["posted"]["amount"]
        print(f"landlord has {landlord_has} USD")
        if landlord_has != "50.01":
            raise SystemExit("the approved transfer did not run exactly once")

        records = (await call(client, "get_audit_log", limit=20))["records"]
        for r in reversed(records):
            if any(e.startswith("apr_") for e in r["entity_ids"]):
                print(f"audit: {r['principal']} {r['tool']} -> {r['outcome']}")


if __name__ == "__main__":
    run(session, __doc__)
