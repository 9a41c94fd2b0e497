"""The issue's "done when", tried as a new user would on stdio: an agent with a 50.00 USD approval threshold cannot
move 50.01 USD without someone else's approval, the approval (from the terminal) runs the call exactly once, and the
audit log shows who asked and who approved."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from mcp_payments.server.callers import local_principal, local_user
from tests.e2e.processes import isolated_env, serve_args
from tests.e2e.test_cli import cli
from tests.helpers import ok

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_an_agent_on_stdio_cannot_move_more_than_its_threshold_without_someone_elses_approval(
    db_url: str, tmp_path: Path
) -> None:
    agent = local_principal()
    limits = ["limits", "set", "--principal", agent, "--currency", "USD", "--approval-above", "50.00", "--db", db_url]
    assert (await cli(tmp_path, *limits)).returncode == 0
    params = StdioServerParameters(command=sys.executable, args=serve_args(db_url), env=isolated_env(tmp_path))
    with anyio.fail_after(180):
        async with Client(params) as client:
            source = (await ok(client, "create_wallet", currency="USD", name="source"))["wallet"]["id"]
            destination = (await ok(client, "create_wallet", currency="USD", name="rent"))["wallet"]["id"]
            await ok(client, "fund_wallet", wallet_id=source, currency="USD", amount="100.00")
            move = {"source_wallet_id": source, "destination_wallet_id": destination, "currency": "USD"}
            pending = await ok(client, "transfer_funds", **move, amount="50.01", idempotency_key="rent-january")
            with pytest.raises(MCPError, match="approve_request is an approve tool and needs role operator"):
                await client.call_tool("approve_request", {"approval_id": pending["approval_id"]})
            assert (await ok(client, "get_wallet", wallet_id=destination))["posted"]["amount"] == "0.00"

            listed = await cli(tmp_path, "approvals", "list", "--db", db_url)
            approved = await cli(tmp_path, "approvals", "approve", pending["approval_id"], "--db", db_url, "--json")
            again = await cli(tmp_path, "approvals", "approve", pending["approval_id"], "--db", db_url)
            replay = await ok(client, "transfer_funds", **move, amount="50.01", idempotency_key="rent-january")

            outcome = await ok(client, "get_approval", approval_id=pending["approval_id"])
            received = (await ok(client, "get_wallet", wallet_id=destination))["posted"]["amount"]
            records = (await ok(client, "get_audit_log", limit=20))["records"]

    assert pending["status"] == "pending_approval"
    assert pending["approval_id"] in listed.stdout.decode()
    assert approved.returncode == 0, approved.stderr.decode()
    assert json.loads(approved.stdout.decode().strip().splitlines()[-1])["approval"]["status"] == "executed"
    assert "nothing was done again" in again.stdout.decode()  # the same human, the same answer
    assert (replay["status"], replay["approval_id"], replay["deduplicated"]) == (
        "pending_approval",
        pending["approval_id"],
        True,
    )
    assert (outcome["status"], outcome["decided_by"]) == ("executed", f"cli:{local_user()}")
    assert received == "50.01"  # once
    decisions = [
        (r["principal"], r["tool"], r["outcome"]) for r in records if pending["approval_id"] in r["entity_ids"]
    ]
    assert sorted(decisions) == sorted(
        [(agent, "transfer_funds", "held"), (f"cli:{local_user()}", "approve_request", "executed")]
    )
