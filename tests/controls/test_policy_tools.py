"""set_spending_policy and get_spending_policy through a real MCP client: what an admin sets is what an agent is
held to and reads back; every bad input is refused with a clear code and writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp.client import Client
from mcp.shared.exceptions import MCPError

from mcp_payments import catalog
from mcp_payments.domain.roles import Role
from mcp_payments.server.access import Access
from mcp_payments.server.app import build_server
from mcp_payments.server.callers import Callers
from mcp_payments.services.access import AuthMode, Caller
from tests.conftest import Stack
from tests.helpers import err, funded_wallet, ok
from tests.server.rows import row_counter

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def client_as(stack: Stack, principal: str, role: Role) -> AsyncIterator[Client]:
    caller = Caller(principal, role, AuthMode.PROCESS, credential=f"cred-{principal}")
    server, _ = build_server(stack.services, stack.settings, catalog.register_tools, Access(Callers.fixed(caller)))
    async with Client(server) as client:
        yield client


async def test_an_admin_sets_a_limit_that_the_agent_is_held_to_and_can_read(stack: Stack) -> None:
    async with client_as(stack, "key:ops", Role.ADMIN) as admin, client_as(stack, "key:bot", Role.AGENT) as agent:
        source, destination = await funded_wallet(agent, "100.00"), await funded_wallet(agent, "0")
        set_ = await ok(
            admin,
            "set_spending_policy",
            principal="key:bot",
            currency="usd",
            max_per_call="50.00",
            daily="80.00",
            velocity=10,
            denied_payees=["external"],
        )

        assert set_["policy"]["max_per_call"]["amount"] == "50.00"
        assert (set_["policy"]["updated_by"], set_["receipt"]["audit_id"].startswith("aud_")) == ("key:ops", True)
        refused = await err(
            agent,
            "transfer_funds",
            source_wallet_id=source,
            destination_wallet_id=destination,
            currency="USD",
            amount="50.01",
        )
        assert refused["details"]["limit"] == "max_per_call"
        await ok(
            agent,
            "transfer_funds",
            source_wallet_id=source,
            destination_wallet_id=destination,
            currency="USD",
            amount="50.00",
        )
        (budget,) = (await ok(agent, "get_spending_policy"))["budgets"]
        assert (budget["remaining_today"]["amount"], budget["calls_left_this_minute"]) == ("30.00", 9)
        assert (await ok(admin, "get_spending_policy", principal="key:bot"))["budgets"][0]["policy"] == budget["policy"]
        log = (await admin.call_tool("get_audit_log", {"tool": "set_spending_policy"})).structured_content
        assert log is not None
        assert [r["principal"] for r in log["records"]] == ["key:ops"]

        removed = await ok(admin, "set_spending_policy", principal="key:bot", currency="USD", remove=True)
        assert (removed["removed"], removed["policy"]) == (True, None)
        assert (await ok(agent, "whoami"))["spending"] == []


async def test_a_role_default_is_set_and_read_by_role(stack: Stack) -> None:
    async with client_as(stack, "key:ops", Role.ADMIN) as admin, client_as(stack, "key:bot", Role.AGENT) as agent:
        await ok(admin, "set_spending_policy", role="agent", currency="EUR", daily="10.00")

        defaults = await ok(admin, "get_spending_policy", role="agent")
        (budget,) = (await ok(agent, "whoami"))["spending"]

    assert [p["subject"] for p in defaults["role_defaults"]] == ["role:agent"]
    assert (budget["applies_as"], budget["remaining_today"]["amount"]) == ("role_default", "10.00")


async def test_only_an_operator_or_admin_reads_another_principals_policy(stack: Stack) -> None:
    async with client_as(stack, "key:bot", Role.AGENT) as agent:
        with pytest.raises(MCPError, match="needs role operator"):
            await agent.call_tool("get_spending_policy", {"principal": "key:other"})
        with pytest.raises(MCPError, match="needs role operator"):
            await agent.call_tool("get_spending_policy", {"role": "agent"})
        with pytest.raises(MCPError, match="needs role admin"):
            await agent.call_tool("set_spending_policy", {"principal": "key:bot", "currency": "USD"})
    async with client_as(stack, "key:lead", Role.OPERATOR) as operator:
        await ok(operator, "get_spending_policy", principal="key:other")


def policy(**arguments: Any) -> dict[str, Any]:
    return {"principal": "key:bot", "currency": "USD", **arguments}


BAD = "invalid_argument"
TABLE: dict[str, tuple[dict[str, Any], str]] = {
    "no-subject": ({"currency": "USD"}, BAD),
    "both-subjects": (policy(role="agent"), BAD),
    "unknown-role": ({"role": "root", "currency": "USD"}, BAD),
    "principal-without-kind": (policy(principal="bot"), BAD),
    "unknown-currency": (policy(currency="XXZ"), "unknown_currency"),
    "limit-is-a-number": (policy(daily=100), BAD),
    "limit-is-negative": (policy(daily="-1.00"), BAD),
    "limit-has-too-many-decimals": (policy(daily="1.001"), "invalid_amount"),
    "limit-in-exponent-form": (policy(daily="1e5"), BAD),
    "limit-beyond-any-amount": (policy(daily="99999999999999.99"), "invalid_amount"),
    "velocity-is-negative": (policy(velocity=-1), BAD),
    "velocity-is-a-string": (policy(velocity="5"), BAD),
    "payee-is-a-payment": (policy(allowed_payees=["pay_123"]), BAD),
    "payee-list-too-long": (policy(denied_payees=[f"wal_{i}" for i in range(101)]), BAD),
    "expiry-in-the-past": (policy(expires_at="2000-01-01T00:00:00Z"), BAD),
    "expiry-without-zone": (policy(expires_at="2099-01-01T00:00:00"), BAD),
    "expiry-not-a-time": (policy(expires_at="next tuesday"), BAD),
    "remove-what-does-not-exist": (policy(remove=True), "policy_not_found"),
    "control-character-in-principal": (policy(principal="key:bo\u0007t"), BAD),
    "limit-past-2-63": (policy(daily=str(2**63)), BAD),
    "limit-in-full-width-digits": (policy(max_per_call="\uff11\uff10\uff10"), "invalid_amount"),
    "nul-in-principal": (policy(principal="key:bo\u0000t"), BAD),
}


@pytest.mark.parametrize("case", TABLE, ids=str)
async def test_bad_policy_input_is_refused_with_a_clear_code_and_writes_nothing(stack: Stack, case: str) -> None:
    arguments, code = TABLE[case]
    async with client_as(stack, "key:ops", Role.ADMIN) as admin, row_counter(stack.settings.db_url) as count:
        before = await count()
        refused = await err(admin, "set_spending_policy", **arguments)
        assert await count() == before

    assert refused["code"] == code, refused
    assert "Traceback" not in refused["message"]


GET_TABLE: dict[str, dict[str, Any]] = {
    "both-subjects": {"principal": "key:bot", "role": "agent"},
    "unknown-role": {"role": "root"},
    "principal-without-kind": {"principal": "bot"},
}


@pytest.mark.parametrize("case", GET_TABLE, ids=str)
async def test_bad_get_spending_policy_input_is_refused(stack: Stack, case: str) -> None:
    async with client_as(stack, "key:ops", Role.ADMIN) as admin:
        assert (await err(admin, "get_spending_policy", **GET_TABLE[case]))["code"] == BAD
