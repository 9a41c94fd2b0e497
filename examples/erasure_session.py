"""A customer asks to be forgotten: their personal data goes, the books and the audit chain stay, over stdio.

Creates an admin key from the terminal (`mcp-payments keys create`: erasure is an admin's call), starts the
server on stdio with it, takes a payment from a customer and moves money with memos that name them, then erases
the customer. The answer says what was rewritten and what was kept and why; the customer reads back under a
pseudonym, the payment is still theirs by id, and the audit chain and the ledger still verify. A second erasure
says it was done already.

    .venv/bin/python examples/erasure_session.py                 # a throwaway SQLite database
    .venv/bin/python examples/erasure_session.py --db postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from _runner import run
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

ENV = {**os.environ, "MCP_PAYMENTS_LOG_LEVEL": "WARNING"}  # keep the demo's output to the session
NAME = "Wilhelmina Quarrington"


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        raise SystemExit(f"{tool} failed: {result.content[0].text}")  # type: ignore[union-attr]
    assert result.structured_content is not None
    return dict(result.structured_content)


def admin_key(db_url: str) -> str:
    """What the human at the terminal types: `mcp-payments keys create --role admin`; the key is its first line."""
    argv = [sys.executable, "-m", "mcp_payments", "keys", "create", "--name", "dpo", "--role", "admin", "--db", db_url]
    done = subprocess.run(argv, env=ENV, capture_output=True, text=True, check=False)  # noqa: S603  # our own CLI
    if done.returncode != 0:
        raise SystemExit(f"mcp-payments keys create failed: {done.stderr.strip()}")
    return done.stdout.split()[1]


async def session(db_url: str) -> None:
    env = {**ENV, "MCP_PAYMENTS_API_KEY": admin_key(db_url)}
    print("$ mcp-payments keys create --name dpo --role admin")
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_payments", "serve", "--db", db_url], env=env
    )
    async with Client(server) as client:
        customer = (await call(client, "create_customer", name=NAME, email="w.quarrington@example.org"))["customer"]
        payment = await call(
            client,
            "create_payment",
            amount="80.00",
            currency="USD",
            payment_method="pm_card_visa",
            customer_id=customer["id"],
            description=f"order for {NAME}",
        )
        wallet = (await call(client, "create_wallet", currency="USD", name=f"{NAME}'s savings"))["wallet"]["id"]
        await call(client, "fund_wallet", wallet_id=wallet, currency="USD", amount="25.00", memo=f"gift to {NAME}")
        print(f"customer {customer['id']}: {customer['name']}, payment {payment['payment']['id']}")

        erased = await call(client, "erase_customer_data", customer_id=customer["id"])
        print(f"erased: now {erased['pseudonym']!r}; rewritten: {erased['rewritten']}")
        for kept in erased["kept"]:
            count = "" if kept["count"] is None else f"{kept['count']} "
            print(f"  kept {count}{kept['kind']}: {kept['why']}")

        shown = await call(client, "get_customer", customer_id=customer["id"])
        still = (await call(client, "get_payment", payment_id=payment["payment"]["id"]))["payment"]
        print(f"get_customer: name={shown['name']!r} email={shown['email']} erased_at={shown['erased_at']}")
        print(f"the payment is kept: {still['amount']['amount']} USD, customer {still['customer_id']}")
        again = await call(client, "erase_customer_data", customer_id=customer["id"], idempotency_key="erase-again")
        print(f"erasing again: already_erased={again['already_erased']}")
        chain = await call(client, "verify_audit_chain")
        ledger = await call(client, "check_ledger_integrity")
        print(f"audit chain valid: {chain['valid']}; ledger ok: {ledger['ok']}")
        if not (chain["valid"] and ledger["ok"]) or NAME in repr(shown):
            raise SystemExit("the erasure broke the books or the chain, or left the name")


if __name__ == "__main__":
    run(session, __doc__)
