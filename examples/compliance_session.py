"""A compliance officer's day, over stdio: screening, a held payout, a new customer held for review and approved,
structuring, a card-testing burst, an erasure, and the day's compliance report with its CSV.

Creates two keys from the terminal: an admin (`dpo`) whose calls move the money and erase a customer, and an
operator (`ops`) who resolves the flag the admin's transfers raised (a flag is never resolved by its own principal)
and reads the day's report. Each runs its own server on stdio against the same database. At the end the audit
chain and the ledger still verify.

    .venv/bin/python examples/compliance_session.py                 # a throwaway SQLite database
    .venv/bin/python examples/compliance_session.py --db postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from typing import Any

from _runner import run
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.types import EmbeddedResource, TextResourceContents

ENV = {**os.environ, "MCP_PAYMENTS_LOG_LEVEL": "WARNING"}  # keep the demo's output to the session
ON_THE_LIST = "Ignatius Pelleas Zorvak"  # an entry of the synthetic sanctions list the repository ships


async def answer(client: Client, tool: str, **arguments: Any) -> tuple[dict[str, Any], Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error:  # a tool error's body is its text: {code, message, retryable, details}
        return dict(json.loads(result.content[0].text)), result
    return dict(result.structured_content or {}), result


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    body, result = await answer(client, tool, **arguments)
    if result.is_error:
        raise SystemExit(f"{tool} failed: {result.content[0].text}")
    return body


def key(db_url: str, name: str, role: str) -> str:
    """What the human at the terminal types: `mcp-payments keys create`; the key is its output's second word."""
    argv = [sys.executable, "-m", "mcp_payments", "keys", "create", "--name", name, "--role", role, "--db", db_url]
    done = subprocess.run(argv, env=ENV, capture_output=True, text=True, check=False)  # noqa: S603  # our own CLI
    if done.returncode != 0:
        raise SystemExit(f"mcp-payments keys create failed: {done.stderr.strip()}")
    print(f"$ mcp-payments keys create --name {name} --role {role}")
    return done.stdout.split()[1]


def server(db_url: str, api_key: str) -> StdioServerParameters:
    env = {**ENV, "MCP_PAYMENTS_API_KEY": api_key}
    return StdioServerParameters(command=sys.executable, args=["-m", "mcp_payments", "serve", "--db", db_url], env=env)


async def session(db_url: str) -> None:
    began = datetime.now(UTC).date()
    dpo, ops = key(db_url, "dpo", "admin"), key(db_url, "ops", "operator")
    async with Client(server(db_url, dpo)) as admin, Client(server(db_url, ops)) as operator:
        screened = await call(admin, "screen_party", name=ON_THE_LIST, type="person")
        print(f"screen_party {ON_THE_LIST!r}: {screened['decision']} (list {screened['list_version']['sha256'][:12]})")

        source = (await call(admin, "create_wallet", currency="USD", name="operating"))["wallet"]["id"]
        supplier = (await call(admin, "create_wallet", currency="USD", name="supplier"))["wallet"]["id"]
        await call(admin, "fund_wallet", wallet_id=source, currency="USD", amount="40000.00")
        payout = {"wallet_id": source, "currency": "USD", "amount": "500.00", "payee_name": ON_THE_LIST}
        held = await call(admin, "withdraw_from_wallet", **payout)
        print(f"payout to {ON_THE_LIST}: {held['status']} ({held['message'].split(':')[0]})")
        waiting = await call(admin, "create_customer", name=ON_THE_LIST)
        approved = await call(operator, "approve_request", approval_id=waiting["approval_id"])
        created = approved["approval"]["result"]["customer"]["id"]
        print(f"create_customer {ON_THE_LIST!r}: {waiting['status']}, approved by ops: {created} created once")

        for n in range(3):
            # Each its own key: the same arguments again without one would be answered as a retry of the first.
            await call(
                admin,
                "transfer_funds",
                source_wallet_id=source,
                destination_wallet_id=supplier,
                currency="USD",
                amount="9500.00",
                idempotency_key=f"supplier-invoice-{n}",
            )
        flags = (await call(operator, "list_compliance_flags", rule="structuring", status="open"))["flags"]
        print(f"three 9,500.00 USD transfers: {len(flags)} structuring flags ({flags[0]['summary']})")
        resolved = await call(
            operator,
            "resolve_compliance_flag",
            flag_id=flags[0]["id"],
            disposition="legitimate",
            note="supplier invoices",
        )
        print(
            f"resolved {resolved['flag']['id']} by {resolved['flag']['resolved_by']}: {resolved['flag']['disposition']}"
        )

        outcomes = []
        for n in range(6):
            probe = {"currency": "USD", "amount": "1.00", "payment_method": "pm_card_chargeDeclined"}
            body, result = await answer(admin, "create_payment", **probe, idempotency_key=f"card-probe-{n:04d}")
            outcomes.append(body.get("code") if result.is_error else body.get("status"))
            if result.is_error and body.get("code") == "risk_blocked":
                reasons = ", ".join(r["rule"] for r in body["details"]["reasons"])
                print(f"card-testing burst: {outcomes}; blocked with reasons: {reasons}")

        customer = (await call(admin, "create_customer", name="Wilhelmina Quarrington"))["customer"]["id"]
        erased = await call(admin, "erase_customer_data", customer_id=customer)
        print(f"erased {customer}: now {erased['pseudonym']!r}")

        # The day the session ran (two, should it cross midnight UTC).
        start = datetime.combine(began, time(0), tzinfo=UTC)
        end = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(0), tzinfo=UTC)
        period = {"from_time": start.isoformat(), "to_time": end.isoformat()}
        report, result = await answer(operator, "generate_compliance_report", **period)
        if result.is_error:
            raise SystemExit(f"generate_compliance_report failed: {result.content[0].text}")
        print(
            f"compliance report {began}: {report['large_transactions']['count']} large, "
            f"{report['flags']['total']} flags, {report['screenings']['total']} screenings, "
            f"{report['erasures']['count']} erasure, {report['fraud_alerts']['total']} fraud assessments, "
            f"audit chain valid: {report['audit_chain']['valid']}"
        )
        [document] = [c.resource for c in result.content if isinstance(c, EmbeddedResource)]
        assert isinstance(document, TextResourceContents)
        sections = Counter(row["section"] for row in csv.DictReader(io.StringIO(document.text)))
        print(f"CSV {document.uri}: " + ", ".join(f"{s} {n}" for s, n in sorted(sections.items())))

        if "risk_blocked" not in outcomes or report["fraud_alerts"]["total"] != len(outcomes):
            raise SystemExit(f"the card-testing burst was not blocked and reported: {outcomes}")

        chain = await call(admin, "verify_audit_chain")
        ledger = await call(admin, "check_ledger_integrity")
        print(f"audit chain valid: {chain['valid']}; ledger ok: {ledger['ok']}")
        if not (chain["valid"] and ledger["ok"]):
            raise SystemExit("the audit chain or the ledger does not verify")


if __name__ == "__main__":
    run(session, __doc__)
