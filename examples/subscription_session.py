"""A subscription's year in one session, over stdio, as a script.

Creates an operator key (advance_sandbox_clock needs role operator; the local user is an agent), starts the server
with it on stdio, creates a monthly plan, subscribes a customer with a 14-day trial, previews the upcoming
invoice, advances the sandbox clock a year (printing the progress notifications), then lists the invoices and
checks that they, the payments and check_ledger_integrity agree to the cent.

    .venv/bin/python examples/subscription_session.py                 # a throwaway SQLite database
    .venv/bin/python examples/subscription_session.py --db postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from typing import Any

from _runner import run
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

QUIET = {**os.environ, "MCP_PAYMENTS_LOG_LEVEL": "WARNING"}  # keep the demo's output to the session


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        raise SystemExit(f"{tool} failed: {result.content[0].text}")  # type: ignore[union-attr]
    assert result.structured_content is not None
    return dict(result.structured_content)


def operator_key(db_url: str) -> str:
    """What an administrator runs once: `mcp-payments keys create --role operator` (the key is shown once)."""
    command = [sys.executable, "-m", "mcp_payments", "keys", "create", "--role", "operator", "--name", "example"]
    arguments = [*command, "--db", db_url, "--json"]  # this Python and our own CLI: nothing from outside
    done = subprocess.run(arguments, capture_output=True, text=True, env=QUIET, check=False)  # noqa: S603
    if done.returncode != 0:
        raise SystemExit(f"keys create failed: {done.stderr.strip()}")
    return str(json.loads(done.stdout)["key"])


async def progress(done: float, total: float | None, message: str | None) -> None:
    share = f"{done / total:4.0%}" if total else "    "
    print(f"  {share} {message or ''}")


async def session(db_url: str) -> None:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_payments", "serve", "--db", db_url],
        env={**QUIET, "MCP_PAYMENTS_API_KEY": operator_key(db_url)},
    )
    async with Client(server) as client:
        me = await call(client, "whoami")
        print(f"connected as {me['principal']} (role {me['role']})")

        plan = (await call(client, "create_plan", name="Pro", currency="USD", amount="20.00", interval="month"))["plan"]
        customer = (await call(client, "create_customer", email="ada@example.com", name="Ada"))["customer"]
        subscribed = await call(
            client,
            "create_subscription",
            customer_id=customer["id"],
            plan_id=plan["id"],
            payment_method="pm_card_visa",
            trial_days=14,
        )
        sub = subscribed["subscription"]
        print(f"subscription {sub['id']}: {sub['status']} until {sub['trial_end']}")

        upcoming = await call(client, "preview_upcoming_invoice", subscription_id=sub["id"])
        print(
            f"upcoming invoice: {upcoming['total']['amount']} {upcoming['total']['currency']} on "
            f"{upcoming['period_start']} ({len(upcoming['lines'])} line)"
        )

        # ---- Left for the plan-change and dunning work (issue 11, items 4 and 6), not in this branch yet:
        # ---- 1. change_subscription_plan mid-period (proration_behavior=create_prorations), then
        # ----    preview_upcoming_invoice again to show the proration lines.
        # ---- 2. a second customer on the sandbox card that attaches but whose later charges fail, so that the
        # ----    year below includes a failed renewal, dunning retries and the subscription's end.

        print("advancing the sandbox clock a year:")
        result = await client.call_tool("advance_sandbox_clock", {"by": "P1Y"}, progress_callback=progress)
        if result.is_error:
            raise SystemExit(f"advance_sandbox_clock failed: {result.content[0].text}")  # type: ignore[union-attr]
        moved = result.structured_content or {}
        work = ", ".join(f"{j['job']} {j['done']}" for j in moved["jobs"])
        print(f"the sandbox's time is now {moved['new_time']} ({moved['steps']} steps: {work})")

        invoices = (await call(client, "list_invoices", subscription_id=sub["id"], limit=100))["invoices"]
        invoiced = paid_in = Decimal(0)
        print("invoices (oldest first):")
        for invoice in reversed(invoices):
            payment = await call(client, "get_payment", payment_id=invoice["payment_id"])
            total = Decimal(invoice["total"]["amount"])
            invoiced += total
            paid_in += Decimal(payment["payment"]["amount"]["amount"]) if invoice["status"] == "paid" else 0
            print(f"  {invoice['period_start'][:10]} {invoice['status']:<5} {total:>7} USD  {invoice['payment_id']}")

        integrity = await call(client, "check_ledger_integrity")
        current = await call(client, "get_subscription", subscription_id=sub["id"])
        print(
            f"{len(invoices)} invoices, {invoiced} USD invoiced, {paid_in} USD paid; subscription {current['status']} "
            f"until {current['current_period_end'][:10]}; ledger ok: {integrity['ok']}"
        )
        if invoiced != paid_in or not integrity["ok"]:
            raise SystemExit("the invoices, the payments and the ledger disagree")


if __name__ == "__main__":
    run(session, __doc__)
