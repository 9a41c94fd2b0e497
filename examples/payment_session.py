"""An agent takes a payment and refunds half of it, over stdio, then prints what landed on the ledger.

Starts the server as a subprocess on stdio, as an MCP host does (this Python's `-m mcp_payments serve`).

    .venv/bin/python examples/payment_session.py                 # a throwaway SQLite database
    .venv/bin/python examples/payment_session.py --db postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

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
        env={**os.environ, "MCP_PAYMENTS_LOG_LEVEL": "WARNING"},
    )
    async with Client(server) as client:
        customer = (await call(client, "create_customer", email="ada@example.com", name="Ada Lovelace"))["customer"]
        print(f"customer {customer['id']}")

        # A card number is only tokenized: the payment keeps brand, last4, expiry and a fingerprint.
        paid = await call(
            client,
            "create_payment",
            currency="EUR",
            amount="120.00",
            customer_id=customer["id"],
            card_number="4242 4242 4242 4242",
            card_exp_month=12,
            card_exp_year=2030,
            card_cvc="123",
            description="annual plan",
            idempotency_key=f"order-{customer['id']}",
        )
        payment = paid["payment"]
        print(
            f"payment {payment['id']}: {payment['status']}, {payment['amount']['amount']} EUR on "
            f"{payment['card']['brand']} ****{payment['card']['last4']}, fee {payment['fee']['amount']}"
        )

        declined = await client.call_tool(
            "create_payment",
            {"currency": "EUR", "amount": "5.00", "payment_method": "pm_card_chargeDeclinedInsufficientFunds"},
        )
        body = json.loads(declined.content[0].text)  # type: ignore[union-attr]
        print(f"a second card: {body['code']} ({body['details']['decline_code']}), retryable: {body['retryable']}")

        refund = await call(client, "refund_payment", payment_id=payment["id"], amount="60.00", reason="half refund")
        print(
            f"refund {refund['refund']['id']}: {refund['refund']['status']}, "
            f"{refund['payment']['amount_refunded']['amount']} of {payment['amount_received']['amount']} refunded"
        )

        detail = await call(client, "get_payment", payment_id=payment["id"])
        print("the payment's ledger transactions:")
        for txn in detail["ledger"]:
            print(f"  {txn['kind']}")
            for entry in txn["entries"]:
                print(f"    {entry['account_id']:<24} {entry['amount']['amount']:>9} {entry['amount']['currency']}")
        integrity = await call(client, "check_ledger_integrity")
        print(f"ledger ok: {integrity['ok']}, totals {integrity['totals_by_currency']}")


if __name__ == "__main__":
    run(session, __doc__)
