"""A subscription's year in one session, over stdio, as a script: every step of issue 11's "done when".

Creates an operator key (advance_sandbox_clock needs role operator; the local user is an agent) and starts the
server with it on stdio. Then, on the sandbox clock:

1. a monthly plan (Basic) and a dearer one (Pro); a customer subscribes to Basic with a 14-day trial;
2. the trial ends (the clock moves 14 days): the first period is charged;
3. ten days into the period the customer upgrades to Pro: the proration (a credit for Basic's unused time, a
   charge for Pro's) shows in preview_upcoming_invoice, and then, line for line, on the invoice the renewal issues;
4. the card starts failing (Stripe's 4000 0000 0000 0341, pm_card_chargeCustomerFail): the renewal is declined,
   the subscription goes past_due and dunning retries; the customer gives a working card and pays: active again;
5. the clock runs on to a year after the start (progress notifications printed), renewing every month;
6. the invoices, the payments, the ledger (each payment's journal transactions) and check_ledger_integrity agree
   to the cent.

    .venv/bin/python examples/subscription_session.py                 # a throwaway SQLite database
    .venv/bin/python examples/subscription_session.py --db postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
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


async def advance(client: Client, **how: str) -> dict[str, Any]:
    """advance_sandbox_clock by= or to=, its progress notifications printed."""
    result = await client.call_tool("advance_sandbox_clock", how, progress_callback=progress)
    if result.is_error:
        raise SystemExit(f"advance_sandbox_clock failed: {result.content[0].text}")  # type: ignore[union-attr]
    moved = dict(result.structured_content or {})
    work = ", ".join(f"{j['job']} {j['done']}" for j in moved["jobs"]) or "nothing due"
    print(f"  the sandbox's time is now {moved['new_time'][:16]} ({work})")
    return moved


def a_year_after(instant: datetime) -> datetime:
    """The same instant a year later (a Feb 29 start: Mar 1)."""
    month_start = instant.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return month_start.replace(year=month_start.year + 1) + (instant - month_start)


def lines_of(invoice: dict[str, Any]) -> list[tuple[str, str]]:
    return [(line["kind"], line["amount"]["amount"]) for line in invoice["lines"]]


def show_lines(invoice: dict[str, Any]) -> None:
    for line in invoice["lines"]:
        print(f"    {line['kind']:<17} {line['amount']['amount']:>7}  {line['description']}")
    print(f"    {'total':<17} {invoice['total']['amount']:>7} {invoice['total']['currency']}")


def ledger_received(detail: dict[str, Any]) -> int:
    """What get_payment's journal transactions say came in from the card network, in minor units: the entries
    leaving an account the money does not merely pass through (the clearing account appears in and out)."""
    received = 0
    for txn in detail["ledger"]:
        accounts = [e["account_id"] for e in txn["entries"]]
        received -= sum(
            e["amount"]["amount_minor"]
            for e in txn["entries"]
            if accounts.count(e["account_id"]) == 1 and e["amount"]["amount_minor"] < 0
        )
    return received


async def session(db_url: str) -> None:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_payments", "serve", "--db", db_url],
        env={**QUIET, "MCP_PAYMENTS_API_KEY": operator_key(db_url)},
    )
    async with Client(server) as client:
        me = await call(client, "whoami")
        print(f"connected as {me['principal']} (role {me['role']})")

        # 1. Plans, a customer, a subscription with a trial.
        basic = await call(client, "create_plan", name="Basic", currency="USD", amount="20.00", interval="month")
        pro = await call(client, "create_plan", name="Pro", currency="USD", amount="50.00", interval="month")
        customer = (await call(client, "create_customer", email="ada@example.com", name="Ada"))["customer"]
        subscribed = await call(
            client,
            "create_subscription",
            customer_id=customer["id"],
            plan_id=basic["plan"]["id"],
            payment_method="pm_card_visa",
            trial_days=14,
        )
        sub = subscribed["subscription"]
        started = datetime.fromisoformat(sub["created_at"])
        print(
            f"1. subscription {sub['id']} to Basic (20.00 USD a month): {sub['status']} until {sub['trial_end'][:10]}"
        )
        upcoming = await call(client, "preview_upcoming_invoice", subscription_id=sub["id"])
        print(f"   upcoming invoice on {upcoming['period_start'][:10]}:")
        show_lines(upcoming)

        # 2. The trial ends.
        print("2. 14 days later, the trial ends:")
        await advance(client, by="P14D")
        sub = await call(client, "get_subscription", subscription_id=sub["id"])
        print(
            f"   subscription {sub['status']}, "
            f"period {sub['current_period_start'][:10]} to {sub['current_period_end'][:10]}"
        )

        # 3. An upgrade mid-period: the proration in the preview, then on the invoice.
        print("3. 10 days into the period, the customer upgrades to Pro (50.00 USD a month):")
        await advance(client, by="P10D")
        changed = await call(client, "change_subscription_plan", subscription_id=sub["id"], plan_id=pro["plan"]["id"])
        for line in changed["proration_lines"]:
            print(f"   proration: {line['kind']:<17} {line['amount']['amount']:>7}  {line['description']}")
        preview = await call(client, "preview_upcoming_invoice", subscription_id=sub["id"])
        print(f"   preview_upcoming_invoice: the invoice of {preview['period_start'][:10]} will be")
        show_lines(preview)

        # 4. The card starts failing at the renewal; dunning; recovery with a working card.
        print("4. the card on file starts failing (4000 0000 0000 0341: it attached, now every charge is declined)")
        await call(
            client,
            "update_subscription",
            subscription_id=sub["id"],
            default_payment_method="pm_card_chargeCustomerFail",
        )
        renewal_at = datetime.fromisoformat(sub["current_period_end"])
        await advance(client, to=(renewal_at + timedelta(days=3, hours=1)).isoformat())
        renewal = (await call(client, "list_invoices", subscription_id=sub["id"], limit=1))["invoices"][0]
        print(f"   the renewal's invoice {renewal['id']} ({renewal['period_start'][:10]}):")
        show_lines(renewal)
        if (lines_of(renewal), renewal["total"]) != (lines_of(preview), preview["total"]):
            raise SystemExit("the invoice differs from its preview")
        print("   it is the preview, line for line")
        sub = await call(client, "get_subscription", subscription_id=sub["id"])
        print(
            f"   {renewal['status']} after {renewal['attempts']} attempts ({renewal['last_decline_code']}), next try "
            f"{(renewal['next_attempt_at'] or 'none')[:10]}; subscription {sub['status']}"
        )
        await call(client, "update_subscription", subscription_id=sub["id"], default_payment_method="pm_card_visa")
        paid = await call(client, "pay_invoice", invoice_id=renewal["id"])
        print(
            f"   a working card, then pay_invoice: invoice {paid['invoice']['status']}, "
            f"subscription {paid['subscription']['status']}"
        )

        # 5. The rest of the year.
        year_end = a_year_after(started)
        print(f"5. the sandbox clock runs on to {year_end:%Y-%m-%d}, a year after the start:")
        await advance(client, to=year_end.isoformat())

        # 6. Invoices, payments, ledger, integrity.
        invoices = (await call(client, "list_invoices", subscription_id=sub["id"], limit=100))["invoices"]
        payments = (await call(client, "list_payments", customer_id=customer["id"], limit=100))["payments"]
        invoiced = sum(Decimal(i["total"]["amount"]) for i in invoices if i["status"] == "paid")
        received = sum(Decimal(p["amount_received"]["amount"]) for p in payments)
        ledger_minor = 0
        print("6. invoices (oldest first):")
        for invoice in reversed(invoices):
            print(
                f"   {invoice['period_start'][:10]} {invoice['status']:<5} {invoice['total']['amount']:>7} USD "
                f"{invoice['attempts']} attempt(s)  {invoice['payment_id']}"
            )
        for payment in payments:
            ledger_minor += ledger_received(await call(client, "get_payment", payment_id=payment["id"]))
        ledger = Decimal(ledger_minor) / 100  # USD has two decimals
        declined = sum(1 for p in payments if p["status"] != "succeeded")
        integrity = await call(client, "check_ledger_integrity")
        current = await call(client, "get_subscription", subscription_id=sub["id"])
        print(
            f"{len(invoices)} invoices, {invoiced} USD invoiced and paid; {len(payments)} payments ({declined} "
            f"declined), {received} USD received; the ledger took in {ledger} USD; subscription {current['status']} "
            f"until {current['current_period_end'][:10]}; ledger ok: {integrity['ok']}"
        )
        if not (invoiced == received == ledger) or not integrity["ok"]:
            raise SystemExit("the invoices, the payments and the ledger disagree")
        print("the invoices, the payments and the ledger agree to the cent")


if __name__ == "__main__":
    run(session, __doc__)
