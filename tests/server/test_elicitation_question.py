"""The question a held call asks its human (server/elicitation.py) says what is held, for every tool that can be
held: the tool, what it would spend or that no money moves, what it acts on, and a form titled with the tool."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mcp_payments.domain.approvals import Approval, Status
from mcp_payments.server.elicitation import answer_form, question
from tests.conftest import Stack

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def held(tool: str, arguments: dict[str, Any], amount: int | None, held_for: str) -> Approval:
    threshold = 5000 if held_for == "approval_above" else 0
    currency = None if amount is None else "USD"
    return Approval(
        "apr_1", tool, "key:bot", "agent", None, arguments, currency, amount, None, threshold,
        Status.PENDING, NOW, NOW + timedelta(hours=1), held_for=held_for,
    )  # fmt: skip


def sample_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """Every id argument of a tool's input schema, with a value of its own; a name where the tool takes one."""
    properties = schema.get("properties", {})
    arguments: dict[str, Any] = {k: f"x_{k}" for k in properties if k.endswith("_id")}
    if "name" in properties:
        arguments["name"] = "Ada Lovelace"
    return arguments


async def test_every_holdable_tools_question_names_the_tool_its_subject_and_whether_money_moves(stack: Stack) -> None:
    assert {"create_customer", "transfer_funds", "create_payment"} <= set(stack.box.holdable)
    for tool in stack.box.holdable:
        found = stack.server._tool_manager.get_tool(tool)
        assert found is not None
        arguments = sample_arguments(found.parameters)
        spends = tool != "create_customer"  # the one holdable call that spends nothing
        for held_for in ["approval_above", "sanctions_review"] if spends else ["sanctions_review"]:
            text = question(held(tool, arguments, 5001 if spends else None, held_for))

            assert f"run {tool}" in text, text
            assert arguments, tool  # every holdable tool names what it acts on
            for value in arguments.values():
                assert str(value) in text, (tool, text)
            assert ("50.01 USD" in text) is spends, text
            assert ("No money moves." in text) is not spends, text
        form = answer_form(tool).model_json_schema()
        assert form["properties"]["approve"]["title"] == f"Approve {tool}"


def test_a_card_number_given_as_an_id_or_a_name_never_reaches_the_question() -> None:
    arguments = {"destination_wallet_id": "4242424242424242", "name": "4000 0566 5566 5556"}
    text = question(held("transfer_funds", arguments, 100, "approval_above"))

    assert "4242424242424242" not in text
    assert "****4242" in text


def test_a_payout_to_an_outside_payee_names_the_payee_and_a_wallet_payee_is_named_once() -> None:
    payout = held("withdraw_from_wallet", {"wallet_id": "wal_1", "payee_name": "Acme Ltd"}, 5001, "sanctions_review")
    transfer = held("transfer_funds", {"destination_wallet_id": "wal_2"}, 5001, "approval_above")
    assert "(wallet wal_1, to Acme Ltd)" in question(replace(payout, payee="Acme Ltd"))
    assert question(replace(transfer, payee="wal_2")).count("wal_2") == 1
