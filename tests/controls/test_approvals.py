"""Approvals on both databases: a call above approval_above waits for someone else's decision, then runs once or
never; every decision is in the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp.client import Client

from mcp_payments import catalog
from mcp_payments.domain.roles import Role
from mcp_payments.server.access import Access
from mcp_payments.server.app import build_server
from mcp_payments.server.callers import Callers
from mcp_payments.services.access import AuthMode, Caller
from mcp_payments.services.job_runner import JobRunner
from tests.conftest import FakeClock, Stack
from tests.controls.test_spending_limits import set_policy, spend_rows
from tests.helpers import err, ok

pytestmark = pytest.mark.anyio
AGENT = "key:bot"
DOLLAR = 100


@asynccontextmanager
async def client_as(stack: Stack, principal: str, role: Role) -> AsyncIterator[Client]:
    caller = Caller(principal, role, AuthMode.PROCESS, credential=f"cred-{principal}")
    server, _ = build_server(stack.services, stack.settings, catalog.register_tools, Access(Callers.fixed(caller)))
    async with Client(server) as client:
        yield client


@asynccontextmanager
async def agent_and_operator(stack: Stack) -> AsyncIterator[tuple[Client, Client]]:
    async with client_as(stack, AGENT, Role.AGENT) as agent, client_as(stack, "key:ops", Role.OPERATOR) as operator:
        yield agent, operator


async def wallets(client: Client, funds: str = "100.00") -> tuple[str, str]:
    async def wallet(name: str) -> str:
        return str((await ok(client, "create_wallet", currency="USD", name=name))["wallet"]["id"])

    source, destination = await wallet("source"), await wallet("destination")
    await ok(client, "fund_wallet", wallet_id=source, currency="USD", amount=funds, idempotency_key=f"fund-{source}")
    return source, destination


async def held_transfer(agent: Client, source: str, destination: str, amount: str = "50.01", **extra: Any) -> Any:
    arguments = {"source_wallet_id": source, "destination_wallet_id": destination, "currency": "USD"}
    return await agent.call_tool("transfer_funds", {**arguments, "amount": amount, **extra})


async def expire_approvals(stack: Stack) -> None:
    [job] = [job for job in stack.services.jobs if job.name == "expire_approvals"]
    await stack.services.get(JobRunner).run(job)


async def decisions(stack: Stack, approval_id: str) -> list[tuple[str, str, str]]:
    """(principal, tool, outcome) of the audit records that name the approval."""
    async with client_as(stack, "key:auditor", Role.ADMIN) as auditor:
        records = (await ok(auditor, "get_audit_log", limit=100))["records"]
    return [(r["principal"], r["tool"], r["outcome"]) for r in records if approval_id in r["entity_ids"]]


async def posted(client: Client, wallet: str) -> str:
    return str((await ok(client, "get_wallet", wallet_id=wallet))["posted"]["amount"])


async def test_a_call_above_approval_above_waits_with_a_result_and_moves_nothing(clocked_stack: Stack) -> None:
    await set_policy(clocked_stack, AGENT, approval_above=50 * DOLLAR)
    async with agent_and_operator(clocked_stack) as (agent, _):
        source, destination = await wallets(agent)
        result = await held_transfer(agent, source, destination, idempotency_key="rent-2026-01")

        assert not result.is_error
        pending = result.structured_content
        assert pending["status"] == "pending_approval"
        assert pending["approval_id"].startswith("apr_")
        assert pending["expires_at"] == "2026-01-02T00:00:00Z"
        assert "if an operator or admin other than you approves" in pending["message"]
        assert pending["amount"] == {"amount": "50.01", "amount_minor": 5001, "currency": "USD"}
        assert pending["receipt"]["audit_id"].startswith("aud_")
        assert await posted(agent, destination) == "0.00"
        assert await spend_rows(clocked_stack) == 0

        replay = await held_transfer(agent, source, destination, idempotency_key="rent-2026-01")
        assert replay.structured_content["approval_id"] == pending["approval_id"]
        assert replay.structured_content["deduplicated"] is True
        listed = (await ok(agent, "list_pending_approvals"))["approvals"]
        assert [a["id"] for a in listed] == [pending["approval_id"]]
        assert listed[0]["arguments"]["amount"] == "50.01"


async def test_an_approval_by_someone_else_runs_the_call_once(clocked_stack: Stack) -> None:
    await set_policy(clocked_stack, AGENT, approval_above=50 * DOLLAR, daily=1000 * DOLLAR)
    async with agent_and_operator(clocked_stack) as (agent, operator):
        source, destination = await wallets(agent)
        approval_id = (await held_transfer(agent, source, destination)).structured_content["approval_id"]

        decided = (await ok(operator, "approve_request", approval_id=approval_id))["approval"]
        again = await err(operator, "approve_request", approval_id=approval_id, idempotency_key="approve-twice")

        assert decided["status"] == "executed"
        assert decided["decided_by"] == "key:ops"
        assert decided["result"]["transaction"]["id"].startswith("txn_")
        assert again["code"] == "approval_not_pending"
        assert await posted(agent, destination) == "50.01"
        assert await spend_rows(clocked_stack) == 1  # the approved call counts against the daily limit
        seen = await ok(agent, "get_approval", approval_id=approval_id)
        assert (seen["status"], seen["result"]) == ("executed", decided["result"])
        assert (await ok(agent, "list_pending_approvals"))["approvals"] == []


async def test_two_operators_approving_at_the_same_moment_run_the_call_once(clocked_stack: Stack) -> None:
    await set_policy(clocked_stack, AGENT, approval_above=50 * DOLLAR)
    async with (
        agent_and_operator(clocked_stack) as (agent, first),
        client_as(clocked_stack, "key:ops2", Role.ADMIN) as second,
    ):
        source, destination = await wallets(agent)
        approval_id = (await held_transfer(agent, source, destination)).structured_content["approval_id"]
        results: list[Any] = []

        async def approve(client: Client, key: str) -> None:
            results.append(
                await client.call_tool("approve_request", {"approval_id": approval_id, "idempotency_key": key})
            )

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for i in range(3):
                    tg.start_soon(approve, first, f"approve-first-{i}")
                    tg.start_soon(approve, second, f"approve-second-{i}")

        assert sum(not r.is_error for r in results) == 1
        assert all("approval_not_pending" in r.content[0].text for r in results if r.is_error)
        assert await posted(agent, destination) == "50.01"
        assert await posted(agent, source) == "49.99"


async def test_the_requester_cannot_approve_its_own_request(clocked_stack: Stack) -> None:
    await set_policy(clocked_stack, "key:lead", approval_above=50 * DOLLAR)
    async with client_as(clocked_stack, "key:lead", Role.OPERATOR) as lead:
        source, destination = await wallets(lead)
        approval_id = (await held_transfer(lead, source, destination)).structured_content["approval_id"]

        refused = await err(lead, "approve_request", approval_id=approval_id)
        rejected = await err(lead, "reject_request", approval_id=approval_id)

        assert refused["code"] == rejected["code"] == "self_approval"
        assert "another operator or admin must approve it" in refused["message"]
        assert (await ok(lead, "get_approval", approval_id=approval_id))["status"] == "pending"


async def test_a_rejected_request_never_runs_and_its_requester_reads_why(clocked_stack: Stack) -> None:
    await set_policy(clocked_stack, AGENT, approval_above=50 * DOLLAR)
    async with agent_and_operator(clocked_stack) as (agent, operator):
        source, destination = await wallets(agent)
        approval_id = (await held_transfer(agent, source, destination)).structured_content["approval_id"]

        await ok(operator, "reject_request", approval_id=approval_id, reason="not this month")
        late = await err(operator, "approve_request", approval_id=approval_id)

        assert late["code"] == "approval_not_pending"
        assert "rejected by key:ops" in late["message"]
        seen = await ok(agent, "get_approval", approval_id=approval_id)
        assert (seen["status"], seen["reason"], seen["decided_by"]) == ("rejected", "not this month", "key:ops")
        assert await posted(agent, destination) == "0.00"


async def test_an_expired_request_never_runs(clocked_stack: Stack, fake_clock: FakeClock) -> None:
    await set_policy(clocked_stack, AGENT, approval_above=50 * DOLLAR)
    async with agent_and_operator(clocked_stack) as (agent, operator):
        source, destination = await wallets(agent)
        approval_id = (await held_transfer(agent, source, destination)).structured_content["approval_id"]
        fake_clock.advance(hours=24)

        before_the_job = await err(operator, "approve_request", approval_id=approval_id)
        await expire_approvals(clocked_stack)
        after_the_job = await err(operator, "approve_request", approval_id=approval_id)

        assert before_the_job["code"] == after_the_job["code"] == "approval_not_pending"
        assert "expired" in before_the_job["message"]
        assert (await ok(agent, "get_approval", approval_id=approval_id))["status"] == "expired"
        assert await posted(agent, destination) == "0.00"
        assert ("system", "expire_approvals", "ok") in await decisions(clocked_stack, approval_id)


async def test_an_approved_call_that_fails_when_it_runs_is_recorded_as_failed(clocked_stack: Stack) -> None:
    await set_policy(clocked_stack, AGENT, approval_above=50 * DOLLAR)
    async with agent_and_operator(clocked_stack) as (agent, operator):
        source, destination = await wallets(agent, funds="60.00")
        approval_id = (await held_transfer(agent, source, destination)).structured_content["approval_id"]
        await ok(agent, "withdraw_from_wallet", wallet_id=source, currency="USD", amount="20.00")

        failed = await err(operator, "approve_request", approval_id=approval_id)

        assert failed["code"] == "approved_call_failed"
        assert failed["details"]["error_code"] == "insufficient_funds"
        seen = await ok(agent, "get_approval", approval_id=approval_id)
        assert (seen["status"], seen["error_code"], seen["decided_by"]) == ("failed", "insufficient_funds", "key:ops")
        assert await posted(agent, destination) == "0.00"
        assert ("key:ops", "approve_request", "approved_call_failed") in await decisions(clocked_stack, approval_id)


async def test_the_daily_limit_is_checked_again_when_an_approved_call_runs(clocked_stack: Stack) -> None:
    await set_policy(clocked_stack, AGENT, approval_above=50 * DOLLAR, daily=60 * DOLLAR)
    async with agent_and_operator(clocked_stack) as (agent, operator):
        source, destination = await wallets(agent)
        approval_id = (await held_transfer(agent, source, destination)).structured_content["approval_id"]
        await ok(
            agent,
            "transfer_funds",
            source_wallet_id=source,
            destination_wallet_id=destination,
            currency="USD",
            amount="20.00",
        )

        failed = await err(operator, "approve_request", approval_id=approval_id)

        assert (failed["code"], failed["details"]["error_code"]) == ("approved_call_failed", "limit_exceeded")
        assert await posted(agent, destination) == "20.00"


async def test_an_agent_sees_only_its_own_requests(clocked_stack: Stack) -> None:
    await set_policy(clocked_stack, AGENT, approval_above=50 * DOLLAR)
    async with (
        agent_and_operator(clocked_stack) as (agent, operator),
        client_as(clocked_stack, "key:other", Role.AGENT) as other,
    ):
        source, destination = await wallets(agent)
        approval_id = (await held_transfer(agent, source, destination)).structured_content["approval_id"]

        assert (await ok(other, "list_pending_approvals"))["approvals"] == []
        assert (await err(other, "get_approval", approval_id=approval_id))["code"] == "approval_not_found"
        assert len((await ok(operator, "list_pending_approvals"))["approvals"]) == 1
        assert len((await ok(operator, "list_pending_approvals", principal=AGENT))["approvals"]) == 1


async def test_every_decision_is_in_the_audit_log_with_who_decided(clocked_stack: Stack) -> None:
    await set_policy(clocked_stack, AGENT, approval_above=50 * DOLLAR, max_per_call=80 * DOLLAR)
    async with (
        agent_and_operator(clocked_stack) as (agent, operator),
        client_as(clocked_stack, "key:admin", Role.ADMIN) as admin,
    ):
        source, destination = await wallets(agent)
        executed = (await held_transfer(agent, source, destination)).structured_content["approval_id"]
        rejected = (await held_transfer(agent, source, destination, "50.02")).structured_content["approval_id"]
        await ok(operator, "approve_request", approval_id=executed)
        await ok(operator, "reject_request", approval_id=rejected)
        refused = await held_transfer(agent, source, destination, "80.01", idempotency_key="too-much-1")
        assert refused.is_error
        records = (await ok(admin, "get_audit_log", limit=100))["records"]

    seen = {(r["principal"], r["tool"], r["outcome"], tuple(r["entity_ids"][:1])) for r in records}
    assert (AGENT, "transfer_funds", "held", (executed,)) in seen
    assert (AGENT, "transfer_funds", "held", (rejected,)) in seen
    assert ("key:ops", "approve_request", "executed", (executed,)) in seen
    assert ("key:ops", "reject_request", "rejected", (rejected,)) in seen
    assert (AGENT, "transfer_funds", "limit_exceeded:max_per_call", ()) in seen


UNKNOWN = "apr_" + "0" * 26


@pytest.mark.parametrize(
    ("approval_id", "code"),
    [
        (UNKNOWN, "approval_not_found"),
        ("apr_0000000000000000000000000a", "invalid_argument"),  # lower case: never one of ours
        ("wal_" + "0" * 26, "invalid_argument"),
        ("apr_" + "0" * 25 + "\x00", "invalid_argument"),
        ("apr_" + "0" * 24 + "\u202e0", "invalid_argument"),
        ("apr_" + "0" * 10_000, "invalid_argument"),
        ("", "invalid_argument"),
    ],
)
async def test_a_bad_approval_id_is_refused_clearly_and_writes_nothing(
    stack: Stack, approval_id: str, code: str
) -> None:
    async with client_as(stack, "key:ops", Role.OPERATOR) as operator:
        for tool in ("get_approval", "approve_request", "reject_request"):
            error = await err(operator, tool, approval_id=approval_id)
            assert error["code"] == code, (tool, error)
            assert "Traceback" not in error["message"]
            assert "SELECT" not in error["message"]
        assert (await ok(operator, "get_audit_log"))["records"] == []


async def test_a_reason_with_control_characters_or_too_long_is_refused(clocked_stack: Stack) -> None:
    await set_policy(clocked_stack, AGENT, approval_above=50 * DOLLAR)
    async with agent_and_operator(clocked_stack) as (agent, operator):
        source, destination = await wallets(agent)
        approval_id = (await held_transfer(agent, source, destination)).structured_content["approval_id"]

        for reason in ("no\x1b[31m", "x" * 501):
            assert (await err(operator, "reject_request", approval_id=approval_id, reason=reason))["code"] == (
                "invalid_argument"
            )
        assert (await ok(agent, "get_approval", approval_id=approval_id))["status"] == "pending"


async def test_a_call_with_a_raw_card_number_above_the_threshold_is_refused_not_stored(clocked_stack: Stack) -> None:
    await set_policy(clocked_stack, AGENT, approval_above=50 * DOLLAR)
    async with agent_and_operator(clocked_stack) as (agent, operator):
        refused = await err(
            agent,
            "create_payment",
            currency="USD",
            amount="60.00",
            card_number="4242424242424242",
            card_exp_month=12,
            card_exp_year=2030,
        )
        tokened = await agent.call_tool(
            "create_payment", {"currency": "USD", "amount": "60.00", "payment_method": "pm_card_visa"}
        )

        assert refused["code"] == "approval_needs_saved_payment_method"
        assert "card numbers are never stored" in refused["message"]
        assert tokened.structured_content["status"] == "pending_approval"
        assert len((await ok(operator, "list_pending_approvals"))["approvals"]) == 1
