"""What a new user does first: the Claude Desktop entry starts the server, and the examples run."""

import json
import os
import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from mcp_payments.domain.roles import Role
from mcp_payments.server.callers import local_principal
from tests.server.listing import deployment, shown_to

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = "/absolute/path/to/mcp-payments"

pytestmark = pytest.mark.anyio


async def test_the_mcp_json_entry_launches_a_server_that_lists_every_tool(db_url: str) -> None:
    entry = json.loads((ROOT / "mcp.json").read_text())["mcpServers"]["mcp-payments"]
    command = entry["command"].replace(PLACEHOLDER, str(ROOT))
    # No key: Claude Desktop's user is the local OS user, with role agent (MCP_PAYMENTS_* of this shell left out).
    own = {k: v for k, v in os.environ.items() if not k.startswith("MCP_PAYMENTS_")}
    env = {**own, **entry.get("env", {}), "MCP_PAYMENTS_DB_URL": db_url}
    params = StdioServerParameters(command=command, args=entry["args"], env=env)
    async with Client(params) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        health = await client.call_tool("get_service_health", {})
        me = await client.call_tool("whoami", {})
        wallet = await client.call_tool("create_wallet", {"currency": "USD", "name": "desktop"})
    schemas = {p.stem for p in (ROOT / "schemas").glob("*.json")}
    # Claude Desktop without a key is the local user, an agent: every tool but those of the roles above it.
    async with deployment() as (_, specs):
        beyond_agent = set(specs) - shown_to(Role.AGENT, specs)
    assert {"set_spending_policy", "approve_request", "erase_customer_data"} <= beyond_agent
    assert names == schemas - beyond_agent
    assert health.structured_content is not None
    assert health.structured_content["status"] == "ok"
    assert me.structured_content is not None
    assert (me.structured_content["principal"], me.structured_content["role"]) == (local_principal(), "agent")
    assert not wallet.is_error


async def test_the_example_session_runs_end_to_end(db_url: str) -> None:
    with anyio.fail_after(120):
        done = await anyio.run_process(
            [sys.executable, str(ROOT / "examples" / "wallet_session.py"), "--db", db_url], check=False
        )
    assert done.returncode == 0, done.stderr.decode()
    assert "ledger ok: True; audit chain valid: True" in done.stdout.decode()


async def test_the_example_payment_session_takes_a_payment_and_refunds_half(db_url: str) -> None:
    with anyio.fail_after(120):
        done = await anyio.run_process(
            [sys.executable, str(ROOT / "examples" / "payment_session.py"), "--db", db_url], check=False
        )
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    assert "60.00 of 120.00 refunded" in out
    assert "ledger ok: True" in out
    assert "4242 4242" not in out


async def test_the_example_controls_session_runs_the_approved_call_once(db_url: str) -> None:
    with anyio.fail_after(180):
        done = await anyio.run_process(
            [sys.executable, str(ROOT / "examples" / "controls_session.py"), "--db", db_url], check=False
        )
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    assert "pending_approval" in out
    assert "landlord has 0.00 USD while it waits" in out
    assert "approval executed by cli:" in out
    assert "landlord has 50.01 USD" in out


async def test_the_example_erasure_session_forgets_the_customer_and_keeps_the_books(db_url: str) -> None:
    with anyio.fail_after(180):
        done = await anyio.run_process(
            [sys.executable, str(ROOT / "examples" / "erasure_session.py"), "--db", db_url], check=False
        )
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    assert "get_customer: name='erased-" in out
    assert "email=None" in out
    assert "the payment is kept: 80.00 USD" in out
    assert "erasing again: already_erased=True" in out
    assert "audit chain valid: True; ledger ok: True" in out


async def test_the_example_compliance_session_holds_flags_blocks_erases_and_reports_the_day(db_url: str) -> None:
    with anyio.fail_after(180):
        done = await anyio.run_process(
            [sys.executable, str(ROOT / "examples" / "compliance_session.py"), "--db", db_url], check=False
        )
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    assert "screen_party 'Ignatius Pelleas Zorvak': review" in out
    assert "payout to Ignatius Pelleas Zorvak: pending_approval" in out
    assert "three 9,500.00 USD transfers: 2 structuring flags" in out
    assert "by key:ops: legitimate" in out
    assert "'pending_approval', 'risk_blocked']; blocked with reasons: velocity, card_testing" in out
    assert "create_customer 'Ignatius Pelleas Zorvak': pending_approval, approved by ops: cus_" in out
    # The held customer adds a flag and two screenings (when held, and again when it ran).
    assert ": 1 large, 6 flags, 6 screenings, 1 erasure, 6 fraud assessments, audit chain valid: True" in out
    assert "erasure 1, flag 6, flag_count 5, fraud_decision 3, large_transaction 1" in out
    assert "audit chain valid: True; ledger ok: True" in out
    assert "Wilhelmina" not in out.split("compliance report")[1], "the report names no one"


async def test_the_example_approve_in_chat_runs_the_call_the_human_approved_once(db_url: str) -> None:
    with anyio.fail_after(180):
        done = await anyio.run_process(
            [sys.executable, str(ROOT / "examples" / "approve_in_chat.py"), "--db", db_url], check=False
        )
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    assert "server asks the human: Your agent" in out
    assert "agent asked for 60.00 USD: approval_declined" in out
    assert "landlord has 50.01 USD" in out
    assert "transfer_funds -> executed:elicitation" in out


async def test_the_example_subscription_session_shows_every_step_of_a_subscriptions_year(db_url: str) -> None:
    with anyio.fail_after(240):
        done = await anyio.run_process(
            [sys.executable, str(ROOT / "examples" / "subscription_session.py"), "--db", db_url], check=False
        )
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode() + out
    assert ": trialing until " in out
    assert "proration: proration_credit" in out
    assert "proration: proration_debit" in out
    assert "it is the preview, line for line" in out
    assert "(card_declined)" in out
    assert "subscription past_due" in out
    assert "invoice paid, subscription active" in out
    assert "12 invoices" in out
    assert "ledger ok: True" in out
    assert "the invoices, the payments and the ledger agree to the cent" in out
