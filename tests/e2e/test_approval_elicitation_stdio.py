"""The human in the loop over stdio, as Claude Desktop would run it: a spend above the approval threshold asks the
human at the client; yes runs it once, no rejects it, and the audit chain shows whose answer it was."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from mcp_payments.server.callers import local_principal
from tests.controls.test_approval_elicitation import Human, approval_id_in
from tests.e2e.processes import isolated_env, serve_args
from tests.e2e.test_cli import cli
from tests.helpers import err, ok

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.mark.parametrize("mode", ["auto", "legacy"], ids=["2026-07-28", "2025-11-25"])
async def test_on_stdio_the_human_answers_in_the_chat_and_the_call_runs_once(
    db_url: str, tmp_path: Path, mode: str
) -> None:
    agent = local_principal()
    limits = ["limits", "set", "--principal", agent, "--currency", "USD", "--approval-above", "50.00", "--db", db_url]
    assert (await cli(tmp_path, *limits)).returncode == 0
    params = StdioServerParameters(command=sys.executable, args=serve_args(db_url), env=isolated_env(tmp_path))
    human = Human("accept")
    with anyio.fail_after(180):
        async with Client(params, mode=mode, elicitation_callback=human) as client:  # type: ignore[arg-type]
            source = (await ok(client, "create_wallet", currency="USD", name="source"))["wallet"]["id"]
            destination = (await ok(client, "create_wallet", currency="USD", name="rent"))["wallet"]["id"]
            await ok(client, "fund_wallet", wallet_id=source, currency="USD", amount="200.00")
            move = {"source_wallet_id": source, "destination_wallet_id": destination, "currency": "USD"}

            moved = await ok(client, "transfer_funds", **move, amount="50.01", idempotency_key="rent-january")
            approved = approval_id_in(human.asked[0].message)
            human.action = "decline"
            declined = await err(client, "transfer_funds", **move, amount="60.00", idempotency_key="rent-february")

            received = (await ok(client, "get_wallet", wallet_id=destination))["posted"]["amount"]
            outcome = await ok(client, "get_approval", approval_id=approved)
            records = (await ok(client, "get_audit_log", limit=20))["records"]

    assert moved["transaction"]["id"].startswith("txn_")
    assert received == "50.01"  # once; the declined one never ran
    assert declined["code"] == "approval_declined"
    assert (outcome["status"], outcome["decided_by"], outcome["decided_via"]) == ("executed", agent, "elicitation")
    rejected = declined["details"]["approval_id"]
    decisions = sorted(
        (r["principal"], r["tool"], r["outcome"], approved in r["entity_ids"])
        for r in records
        if approved in r["entity_ids"] or rejected in r["entity_ids"]
    )
    assert decisions == [
        (agent, "transfer_funds", "executed:elicitation", True),
        (agent, "transfer_funds", "held", False),
        (agent, "transfer_funds", "held", True),
        (agent, "transfer_funds", "rejected:elicitation", False),
    ]
