"""approval.requested and approval.decided: written to the outbox with the hold and with each decision, delivered
signed; they name the approval, never its arguments (a memo may name a person)."""

from typing import Any

import pytest

from mcp_payments.domain.roles import Role
from tests.conftest import Stack
from tests.controls.test_approvals import AGENT, DOLLAR, client_as, expire_approvals, held_transfer, wallets
from tests.controls.test_spending_limits import set_policy
from tests.helpers import ok
from tests.notifications.conftest import clock_of, deliver, endpoint
from tests.notifications.receiver import Received, receiving
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio
TYPES = ("approval.requested", "approval.decided")


def events(got: list[Received]) -> list[tuple[str, str, str]]:
    return [(r.event["type"], r.event["data"]["id"], r.event["data"]["status"]) for r in got]


async def held(stack: Stack, memo: str = "for Ada Lovelace") -> tuple[str, dict[str, Any]]:
    await set_policy(stack, AGENT, approval_above=50 * DOLLAR)
    async with client_as(stack, AGENT, Role.AGENT) as agent:
        source, destination = await wallets(agent)
        result = await held_transfer(agent, source, destination, memo=memo)
    body = dict(result.structured_content or {})
    return str(body["approval_id"]), body


async def test_a_held_call_and_its_approval_are_sent_as_events(clocked_stack: Stack, admin: Agent) -> None:
    with receiving() as receiver:
        created = await endpoint(admin, receiver.url, *TYPES)
        approval_id, _ = await held(clocked_stack)
        async with client_as(clocked_stack, "key:ops", Role.OPERATOR) as operator:
            await ok(operator, "approve_request", approval_id=approval_id)
        assert await deliver(clocked_stack) == 2
        got = receiver.all()
    assert events(got) == [
        ("approval.requested", approval_id, "pending"),
        ("approval.decided", approval_id, "executed"),
    ]
    assert all(r.verifies(created["secret"]) for r in got)
    decided = got[1].event["data"]
    assert (decided["tool"], decided["principal"], decided["amount"], decided["currency"]) == (
        "transfer_funds",
        AGENT,
        5001,
        "USD",
    )
    assert decided["decided_by"] == "key:ops"
    assert not any("Lovelace" in r.body.decode() for r in got)


async def test_a_rejection_and_an_expiry_are_decisions_too(clocked_stack: Stack, admin: Agent) -> None:
    with receiving() as receiver:
        await endpoint(admin, receiver.url, "approval.decided")
        rejected, _ = await held(clocked_stack)
        async with client_as(clocked_stack, "key:ops", Role.OPERATOR) as operator:
            await ok(operator, "reject_request", approval_id=rejected, reason="not today")
        async with client_as(clocked_stack, AGENT, Role.AGENT) as agent:
            source, destination = await wallets(agent)
            late = (await held_transfer(agent, source, destination, memo="later")).structured_content or {}
        clock_of(clocked_stack).advance(days=2)
        await expire_approvals(clocked_stack)
        assert await deliver(clocked_stack) == 2
        got = receiver.all()
    assert events(got) == [
        ("approval.decided", rejected, "rejected"),
        ("approval.decided", late["approval_id"], "expired"),
    ]
    assert "not today" not in got[0].body.decode()
