"""The human in the loop, in the chat, on both databases and in both protocol eras: a spend above approval_above
asks the human at the requester's client; accept runs it once, decline rejects it, no answer leaves it pending."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import anyio
import pytest
from mcp.client import Client
from mcp.client.context import ClientRequestContext
from mcp.shared.exceptions import MCPError
from mcp.types import ElicitRequestParams, ElicitResult, ErrorData, InputRequiredResult

from mcp_payments import catalog
from mcp_payments.domain.roles import Role
from mcp_payments.server.access import Access
from mcp_payments.server.app import build_server
from mcp_payments.server.callers import Callers
from mcp_payments.services.access import AuthMode, Caller
from tests.compliance_flags.conftest import ON_THE_LIST
from tests.conftest import Stack
from tests.controls.test_approvals import AGENT, DOLLAR, decisions, held_transfer, posted, wallets
from tests.controls.test_spending_limits import set_policy, spend_rows
from tests.helpers import err, ok

pytestmark = pytest.mark.anyio
ERAS = [("auto", "2026-07-28"), ("legacy", "2025-11-25")]
ERA_IDS = [version for _, version in ERAS]


class Human:
    """The elicitation callback: answers every question with `action` (and approve=`approve` on accept)."""

    def __init__(self, action: str = "accept", approve: bool = True) -> None:
        self.action = action
        self.approve = approve
        self.asked: list[ElicitRequestParams] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult | ErrorData:
        self.asked.append(params)
        content = {"approve": self.approve} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)  # type: ignore[arg-type]


@asynccontextmanager
async def agent_in_chat(stack: Stack, mode: str, human: Human | None) -> AsyncIterator[Client]:
    """The agent's client: its human answers with `human` (None: a client without elicitation)."""
    caller = Caller(AGENT, Role.AGENT, AuthMode.PROCESS, credential="cred-bot")
    server, _ = build_server(stack.services, stack.settings, catalog.register_tools, Access(Callers.fixed(caller)))
    async with Client(server, mode=mode, elicitation_callback=human) as client:  # type: ignore[arg-type]
        yield client


async def approval(stack: Stack, client: Client, approval_id: str) -> dict[str, Any]:
    return await ok(client, "get_approval", approval_id=approval_id)


async def pending_ids(client: Client) -> list[str]:
    return [a["id"] for a in (await ok(client, "list_pending_approvals"))["approvals"]]


@pytest.mark.parametrize("mode", [m for m, _ in ERAS], ids=ERA_IDS)
async def test_an_accepted_question_runs_the_held_call_once_as_the_humans_decision(stack: Stack, mode: str) -> None:
    await set_policy(stack, AGENT, approval_above=50 * DOLLAR, daily=1000 * DOLLAR)
    human = Human("accept")
    async with agent_in_chat(stack, mode, human) as agent:
        source, destination = await wallets(agent)
        result = await held_transfer(agent, source, destination, idempotency_key="rent-2026-01")

        assert not result.is_error, result.content
        moved = result.structured_content
        assert moved["transaction"]["id"].startswith("txn_")
        assert moved["receipt"]["audit_id"].startswith("aud_")
        assert await posted(agent, destination) == "50.01"
        [asked] = human.asked
        subject = f"(destination wallet {destination}, source wallet {source})"
        assert f"transfer_funds for 50.01 USD {subject}" in asked.message
        assert "No money moves" not in asked.message
        assert asked.requested_schema["properties"]["approve"]["title"] == "Approve transfer_funds"
        assert "apr_" in asked.message
        approval_id = next(word for word in asked.message.replace(",", " ").split() if word.startswith("apr_"))
        seen = await approval(stack, agent, approval_id)
        assert (seen["status"], seen["decided_by"], seen["decided_via"]) == ("executed", AGENT, "elicitation")
        assert seen["result"]["transaction"]["id"] == moved["transaction"]["id"]
        assert await spend_rows(stack) == 1

        again = await held_transfer(agent, source, destination, idempotency_key="rent-2026-01")
        assert again.structured_content["status"] == "pending_approval"  # the call's stored first answer
        assert again.structured_content["deduplicated"] is True
        assert await posted(agent, destination) == "50.01"  # once
        assert len(human.asked) == 1  # a decided approval is not asked about again
    assert sorted(await decisions(stack, approval_id)) == [
        (AGENT, "transfer_funds", "executed:elicitation"),
        (AGENT, "transfer_funds", "held"),
    ]


def approval_id_in(message: str) -> str:
    return next(word.rstrip(".,") for word in message.split() if word.startswith("apr_"))


@pytest.mark.parametrize("mode", [m for m, _ in ERAS], ids=ERA_IDS)
@pytest.mark.parametrize(("action", "approve"), [("decline", True), ("accept", False)], ids=["decline", "say-no"])
async def test_a_declined_question_rejects_the_held_call_and_nothing_moves(
    stack: Stack, mode: str, action: str, approve: bool
) -> None:
    await set_policy(stack, AGENT, approval_above=50 * DOLLAR)
    human = Human(action, approve)
    async with agent_in_chat(stack, mode, human) as agent:
        source, destination = await wallets(agent)
        refused = await err(
            agent,
            "transfer_funds",
            source_wallet_id=source,
            destination_wallet_id=destination,
            currency="USD",
            amount="50.01",
        )

        approval_id = approval_id_in(human.asked[0].message)
        assert refused["code"] == "approval_declined"
        assert refused["details"] == {"approval_id": approval_id, "status": "rejected"}
        assert "declined" in refused["message"]
        assert "nothing moved" in refused["message"]
        seen = await approval(stack, agent, approval_id)
        assert (seen["status"], seen["decided_by"], seen["decided_via"]) == ("rejected", AGENT, "elicitation")
        assert await posted(agent, destination) == "0.00"
        assert await spend_rows(stack) == 0
        assert await pending_ids(agent) == []
    assert sorted(await decisions(stack, approval_id)) == [
        (AGENT, "transfer_funds", "held"),
        (AGENT, "transfer_funds", "rejected:elicitation"),
    ]


@pytest.mark.parametrize("mode", [m for m, _ in ERAS], ids=ERA_IDS)
@pytest.mark.parametrize("answer", ["cancel", None], ids=["cancel", "no-elicitation"])
async def test_no_answer_or_a_client_without_elicitation_leaves_the_call_pending(
    stack: Stack, mode: str, answer: str | None
) -> None:
    await set_policy(stack, AGENT, approval_above=50 * DOLLAR)
    human = None if answer is None else Human(answer)
    async with agent_in_chat(stack, mode, human) as agent:
        source, destination = await wallets(agent)
        result = await held_transfer(agent, source, destination)

        assert not result.is_error, result.content
        pending = result.structured_content
        assert pending["status"] == "pending_approval"
        assert await pending_ids(agent) == [pending["approval_id"]]
        assert await posted(agent, destination) == "0.00"
        if human is not None:
            assert [approval_id_in(q.message) for q in human.asked] == [pending["approval_id"]]
        async with client_as_operator(stack) as operator:  # an operator can still decide it
            decided = (await ok(operator, "approve_request", approval_id=pending["approval_id"]))["approval"]
        assert (decided["status"], decided["decided_by"], decided["decided_via"]) == ("executed", "key:ops", None)
        assert await posted(agent, destination) == "50.01"


@asynccontextmanager
async def client_as_operator(stack: Stack) -> AsyncIterator[Client]:
    caller = Caller("key:ops", Role.OPERATOR, AuthMode.PROCESS, credential="cred-ops")
    server, _ = build_server(stack.services, stack.settings, catalog.register_tools, Access(Callers.fixed(caller)))
    async with Client(server) as client:
        yield client


@pytest.mark.parametrize("settings_overrides", [{"approval_mode": "queue"}])
async def test_in_queue_mode_the_human_is_never_asked(stack: Stack) -> None:
    await set_policy(stack, AGENT, approval_above=50 * DOLLAR)
    human = Human("accept")
    async with agent_in_chat(stack, "auto", human) as agent:
        source, destination = await wallets(agent)
        result = await held_transfer(agent, source, destination)

        assert result.structured_content["status"] == "pending_approval"
        assert human.asked == []
        assert await posted(agent, destination) == "0.00"


async def test_a_call_under_the_threshold_asks_nothing_and_runs(stack: Stack) -> None:
    await set_policy(stack, AGENT, approval_above=50 * DOLLAR)
    human = Human("accept")
    async with agent_in_chat(stack, "auto", human) as agent:
        source, destination = await wallets(agent)
        moved = await ok(
            agent,
            "transfer_funds",
            source_wallet_id=source,
            destination_wallet_id=destination,
            currency="USD",
            amount="50.00",
        )
        assert moved["transaction"]["id"].startswith("txn_")
        assert human.asked == []


async def first_round(agent: Client, source: str, destination: str) -> tuple[dict[str, Any], InputRequiredResult]:
    arguments = {
        "source_wallet_id": source,
        "destination_wallet_id": destination,
        "currency": "USD",
        "amount": "50.01",
        "idempotency_key": "rent-2026-02",
    }
    asked = await agent.session.call_tool("transfer_funds", arguments, allow_input_required=True)
    assert isinstance(asked, InputRequiredResult), asked
    return arguments, asked


def yes(asked: InputRequiredResult) -> dict[str, Any]:
    assert asked.input_requests is not None
    [key] = asked.input_requests
    return {key: ElicitResult(action="accept", content={"approve": True})}


async def test_an_answered_input_required_state_is_redeemed_once(stack: Stack) -> None:
    await set_policy(stack, AGENT, approval_above=50 * DOLLAR)
    async with agent_in_chat(stack, "auto", Human("accept")) as agent:
        assert agent.protocol_version == "2026-07-28"
        source, destination = await wallets(agent)
        arguments, asked = await first_round(agent, source, destination)
        answer = {"input_responses": yes(asked), "request_state": asked.request_state}

        first = await agent.session.call_tool("transfer_funds", arguments, **answer)
        replayed = await agent.session.call_tool("transfer_funds", arguments, **answer)

        assert not first.is_error, first.content
        assert replayed.is_error
        refusal = json.loads(replayed.content[0].text)  # type: ignore[union-attr]
        assert refusal["code"] == "approval_not_pending"
        assert "already used" in refusal["message"]
        assert "counts once" in refusal["message"]
        assert refusal["details"]["status"] == "executed"
        assert await posted(agent, destination) == "50.01"  # once


async def test_a_tampered_input_required_state_is_refused_and_nothing_runs(stack: Stack) -> None:
    await set_policy(stack, AGENT, approval_above=50 * DOLLAR)
    async with agent_in_chat(stack, "auto", Human("accept")) as agent:
        source, destination = await wallets(agent)
        arguments, asked = await first_round(agent, source, destination)
        state = asked.request_state
        assert state is not None
        assert "apr_" not in state
        assert "approve" not in state
        forged = state[:-6] + ("AAAAAA" if not state.endswith("AAAAAA") else "BBBBBB")

        with pytest.raises(MCPError, match="Invalid or expired requestState"):
            await agent.session.call_tool("transfer_funds", arguments, input_responses=yes(asked), request_state=forged)
        with pytest.raises(MCPError, match="Invalid or expired requestState"):  # bound to the call's arguments
            await agent.session.call_tool(
                "transfer_funds",
                {**arguments, "amount": "5000.00"},
                input_responses=yes(asked),
                request_state=asked.request_state,
            )
        assert await posted(agent, destination) == "0.00"
        assert len(await pending_ids(agent)) == 1


async def test_one_answer_sent_twice_at_the_same_moment_runs_the_call_once(stack: Stack) -> None:
    await set_policy(stack, AGENT, approval_above=50 * DOLLAR)
    async with agent_in_chat(stack, "auto", Human("accept")) as agent:
        source, destination = await wallets(agent)
        arguments, asked = await first_round(agent, source, destination)
        answer = {"input_responses": yes(asked), "request_state": asked.request_state}
        results: list[Any] = []

        async def redeem() -> None:
            results.append(await agent.session.call_tool("transfer_funds", arguments, **answer))

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(redeem)

        assert sum(not r.is_error for r in results) == 1
        codes = {json.loads(r.content[0].text)["code"] for r in results if r.is_error}
        assert codes == {"approval_not_pending"}
        assert await posted(agent, destination) == "50.01"


class BrokenClient(Human):
    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult | ErrorData:
        self.asked.append(params)
        return ErrorData(code=-32603, message="the client could not show the question")


@pytest.mark.parametrize("mode", [m for m, _ in ERAS], ids=ERA_IDS)
async def test_a_client_that_fails_to_ask_leaves_the_call_pending_and_nothing_moves(stack: Stack, mode: str) -> None:
    await set_policy(stack, AGENT, approval_above=50 * DOLLAR)
    human = BrokenClient()
    async with agent_in_chat(stack, mode, human) as agent:
        source, destination = await wallets(agent)
        with pytest.raises(MCPError, match="could not show the question"):
            await held_transfer(agent, source, destination)

        [asked] = human.asked
        assert await pending_ids(agent) == [approval_id_in(asked.message)]  # an operator can still decide it
        assert await posted(agent, destination) == "0.00"


@pytest.mark.parametrize("settings_overrides", [{"dedup_window": timedelta(0)}])
async def test_a_keyless_call_is_asked_about_once_however_long_the_human_takes(stack: Stack) -> None:
    """Without an idempotency key the call's key is derived for a short window; a later round past it (here: no
    window at all) still answers the approval held in the first round."""
    await set_policy(stack, AGENT, approval_above=50 * DOLLAR)
    human = Human("accept")
    async with agent_in_chat(stack, "auto", human) as agent:
        source, destination = await wallets(agent)
        moved = await ok(
            agent,
            "transfer_funds",
            source_wallet_id=source,
            destination_wallet_id=destination,
            currency="USD",
            amount="50.01",
        )

        assert moved["transaction"]["id"].startswith("txn_")
        assert len(human.asked) == 1
        assert await pending_ids(agent) == []  # no second approval was held
        assert await posted(agent, destination) == "50.01"


@pytest.mark.parametrize("mode", [m for m, _ in ERAS], ids=ERA_IDS)
@pytest.mark.parametrize(("action", "approve"), [("accept", True), ("decline", True)], ids=["accept", "decline"])
async def test_a_new_customer_held_for_a_sanctions_review_asks_the_human_without_an_amount(
    stack: Stack, mode: str, action: str, approve: bool
) -> None:
    human = Human(action, approve)
    async with agent_in_chat(stack, mode, human) as agent:
        result = await agent.call_tool("create_customer", {"name": ON_THE_LIST})
        [asked] = human.asked
        assert f"create_customer (named '{ON_THE_LIST}'), which waits for a compliance review" in asked.message
        assert "No money moves." in asked.message
        assert "threshold" not in asked.message
        assert asked.requested_schema["properties"]["approve"]["title"] == "Approve create_customer"
        seen = await approval(stack, agent, approval_id_in(asked.message))
        customers = (await ok(agent, "list_customers"))["customers"]
        if action == "accept":
            assert not result.is_error, result.content
            assert result.structured_content is not None
            assert [c["id"] for c in customers] == [result.structured_content["customer"]["id"]]
            assert (seen["status"], seen["decided_via"], seen["amount"]) == ("executed", "elicitation", None)
        else:
            assert result.is_error
            assert json.loads(result.content[0].text)["code"] == "approval_declined"  # type: ignore[union-attr]
            assert customers == []
            assert (seen["status"], seen["decided_via"], seen["amount"]) == ("rejected", "elicitation", None)
