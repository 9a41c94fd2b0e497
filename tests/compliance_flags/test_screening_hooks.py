"""Screening hooks on both databases: money leaving to a payee not paid before screens it (a review waits for
approval, a block is refused), and a new customer's name is screened."""

from dataclasses import replace
from typing import Any

import pytest

from mcp_payments.domain.roles import Role
from mcp_payments.domain.sanctions import Decision, Party
from mcp_payments.services.ports import UnitOfWork
from mcp_payments.services.sanctions import Screening, ScreeningResult
from tests.compliance_flags.conftest import (
    AGENT,
    ON_THE_LIST,
    OPERATOR,
    client_as,
    flags,
    fund,
    table,
    transfer,
    wallet,
)
from tests.conftest import Stack
from tests.helpers import err, ok

pytestmark = pytest.mark.anyio


async def balance(client: Any, wallet_id: str) -> str:
    return str((await ok(client, "get_wallet", wallet_id=wallet_id))["posted"]["amount"])


async def test_a_transfer_to_a_name_on_the_sample_list_is_held_for_review_and_runs_once_approved(
    clocked_stack: Stack,
) -> None:
    async with (
        client_as(clocked_stack, AGENT, Role.AGENT) as agent,
        client_as(clocked_stack, OPERATOR, Role.OPERATOR) as operator,
    ):
        source, listed = await wallet(agent, "operating"), await wallet(agent, ON_THE_LIST)
        await fund(agent, source, "100.00")

        held = await transfer(agent, source, listed, "25.00", idempotency_key="pay-zorvak")
        assert held["status"] == "pending_approval"
        assert "waits for a compliance review" in held["message"]
        assert await balance(agent, listed) == "0.00"
        [flag] = await flags(agent, rule="sanctions_review")
        assert (flag["subject"], flag["principal"], flag["status"]) == (listed, AGENT, "open")
        assert flag["details"]["matches"][0]["entry_id"] == 9001
        assert ON_THE_LIST not in str(flag)  # ids and scores only: the name stays in the screening's record
        [screening] = await table(clocked_stack, "screenings")
        assert (screening["decision"], screening["id"]) == ("review", flag["details"]["screening_id"])
        approval = await ok(agent, "get_approval", approval_id=held["approval_id"])
        assert (approval["held_for"], approval["threshold"]["amount"]) == ("sanctions_review", "0.00")

        # A retry with the same key is the same pending answer; another call waits too, without a second flag.
        again = await transfer(agent, source, listed, "25.00", idempotency_key="pay-zorvak")
        assert again["approval_id"] == held["approval_id"]
        other = await transfer(agent, source, listed, "5.00")
        assert other["status"] == "pending_approval"
        assert len(await flags(agent, rule="sanctions_review")) == 1

        decided = await ok(operator, "approve_request", approval_id=held["approval_id"])
        assert decided["approval"]["status"] == "executed"
        assert await balance(agent, listed) == "25.00"
        # Money went there after a review: the payee is known, and the next transfer goes straight through.
        paid = await transfer(agent, source, listed, "1.00")
        assert paid["transaction"]["id"].startswith("txn_")
        assert await balance(agent, listed) == "26.00"


async def test_a_payee_screened_clear_once_is_not_screened_again(clocked_stack: Stack) -> None:
    async with client_as(clocked_stack, AGENT, Role.AGENT) as agent:
        source, supplier = await wallet(agent, "operating"), await wallet(agent, "Acme Paper Supplies")
        await fund(agent, source, "100.00")
        await transfer(agent, source, supplier, "1.00")
        await transfer(agent, source, supplier, "2.00")
        [screening] = await table(clocked_stack, "screenings")
        assert screening["decision"] == "clear"
        assert [p["payee"] for p in await table(clocked_stack, "known_payees")] == [supplier]
        assert await flags(agent) == []


async def test_a_refused_transfer_to_a_new_payee_leaves_it_unknown(clocked_stack: Stack) -> None:
    async with client_as(clocked_stack, AGENT, Role.AGENT) as agent:
        source, supplier = await wallet(agent, "operating"), await wallet(agent, "Acme Paper Supplies")
        refused = await err(
            agent, "transfer_funds", source_wallet_id=source, destination_wallet_id=supplier, currency="USD", amount="5"
        )
        assert refused["code"] == "insufficient_funds"
        assert await table(clocked_stack, "known_payees") == []
        assert await table(clocked_stack, "screenings") == []


async def test_a_block_decision_refuses_the_transfer_and_records_the_screening_and_a_flag(
    clocked_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name alone never blocks (domain/sanctions.py decide) and a wallet has nothing else to corroborate it with:
    # the screening is made to decide block, as a loaded list with a wallet holder's details could.
    screening = clocked_stack.services.get(Screening)
    assess = screening.assess

    async def blocking(uow: UnitOfWork, party: Party) -> ScreeningResult:
        return replace(await assess(uow, party), decision=Decision.BLOCK)

    monkeypatch.setattr(screening, "assess", blocking)
    async with client_as(clocked_stack, AGENT, Role.AGENT) as agent:
        source, listed = await wallet(agent, "operating"), await wallet(agent, ON_THE_LIST)
        await fund(agent, source, "100.00")
        refused = await err(
            agent, "transfer_funds", source_wallet_id=source, destination_wallet_id=listed, currency="USD", amount="5"
        )
        assert refused["code"] == "sanctions_blocked"
        assert "do not retry" in refused["message"]
        assert await balance(agent, listed) == "0.00"
        [flag] = await flags(agent, rule="sanctions_block")
        assert (flag["subject"], flag["principal"]) == (listed, AGENT)
        [screening] = await table(clocked_stack, "screenings")
        assert screening["decision"] == "block"
        records = (await ok(agent, "get_audit_log", limit=20))["records"]
        assert any(r["tool"] == "transfer_funds" and r["outcome"] == "sanctions_blocked" for r in records)


async def test_a_new_customer_on_the_list_is_held_for_review_and_created_once_approved(clocked_stack: Stack) -> None:
    async with (
        client_as(clocked_stack, AGENT, Role.AGENT) as agent,
        client_as(clocked_stack, OPERATOR, Role.OPERATOR) as operator,
    ):
        asked = {"name": ON_THE_LIST, "email": "iz@example.com", "idempotency_key": "cus-zorvak"}
        held = await ok(agent, "create_customer", **asked)
        assert (held["status"], held["tool"], held["amount"]) == ("pending_approval", "create_customer", None)
        assert "create_customer waits for a compliance review" in held["message"]
        approval_id = held["approval_id"]
        assert await table(clocked_stack, "customers") == []
        [flag] = await flags(agent, rule="sanctions_review")
        assert (flag["subject"], flag["principal"], flag["status"]) == (approval_id, AGENT, "open")
        assert flag["details"]["matches"][0]["entry_id"] == 9001
        assert ON_THE_LIST not in str(flag)
        [screening] = await table(clocked_stack, "screenings")
        assert (screening["decision"], screening["id"]) == ("review", flag["details"]["screening_id"])

        # Shown without an amount: null, never "0.00" or a made-up currency.
        seen = await ok(operator, "get_approval", approval_id=approval_id)
        assert (seen["tool"], seen["held_for"], seen["amount"], seen["threshold"]) == (
            "create_customer",
            "sanctions_review",
            None,
            None,
        )
        assert seen["arguments"] == {"name": ON_THE_LIST, "email": "iz@example.com"}
        [pending] = (await ok(operator, "list_pending_approvals"))["approvals"]
        assert (pending["id"], pending["amount"]) == (approval_id, None)

        again = await ok(agent, "create_customer", **asked)
        assert (again["approval_id"], again["deduplicated"]) == (approval_id, True)
        assert len(await table(clocked_stack, "approvals")) == 1

        decided = await ok(operator, "approve_request", approval_id=approval_id)
        assert decided["approval"]["status"] == "executed"
        customer_id = decided["approval"]["result"]["customer"]["id"]
        [customer] = await table(clocked_stack, "customers")
        assert (customer["id"], customer["name"]) == (customer_id, ON_THE_LIST)
        assert customer_id in decided["approval"]["result"]["entity_ids"]
        # Screened again when it ran (a list loaded meanwhile could block it), and no second flag.
        assert [s["decision"] for s in await table(clocked_stack, "screenings")] == ["review", "review"]
        assert len(await flags(agent, rule="sanctions_review")) == 1

        replayed = await ok(operator, "approve_request", approval_id=approval_id)
        assert replayed["deduplicated"] is True
        twice = await err(operator, "approve_request", approval_id=approval_id, idempotency_key="approve-again")
        assert twice["code"] == "approval_not_pending"
        assert len(await table(clocked_stack, "customers")) == 1

        await ok(agent, "create_customer", name="Ada Lovelace")
        assert len(await table(clocked_stack, "customers")) == 2
        assert len(await flags(agent)) == 1


async def test_a_rejected_customer_on_the_list_is_never_created(clocked_stack: Stack) -> None:
    async with (
        client_as(clocked_stack, AGENT, Role.AGENT) as agent,
        client_as(clocked_stack, OPERATOR, Role.OPERATOR) as operator,
    ):
        held = await ok(agent, "create_customer", name=ON_THE_LIST)
        rejected = await ok(operator, "reject_request", approval_id=held["approval_id"], reason="a listed party")
        assert (rejected["approval"]["status"], rejected["approval"]["amount"]) == ("rejected", None)
        assert await table(clocked_stack, "customers") == []
        assert (await ok(agent, "list_customers"))["customers"] == []
        assert (await ok(operator, "list_pending_approvals"))["approvals"] == []


async def test_a_customer_on_the_list_whose_country_corroborates_it_is_refused_and_nothing_is_written(
    clocked_stack: Stack,
) -> None:
    async with client_as(clocked_stack, AGENT, Role.AGENT) as agent:
        # Entry 9001 lives in Iceland (add.csv): the country corroborates the name, and the screening blocks.
        refused = await err(agent, "create_customer", name=ON_THE_LIST, country="IS", email="iz@example.com")
        assert refused["code"] == "sanctions_blocked"
        assert "create_customer is refused" in refused["message"]
        assert await table(clocked_stack, "customers") == []
        assert await table(clocked_stack, "approvals") == []
        [flag] = await flags(agent, rule="sanctions_block")
        assert flag["principal"] == AGENT
        [screening] = await table(clocked_stack, "screenings")
        assert screening["decision"] == "block"
        records = (await ok(agent, "get_audit_log", limit=20))["records"]
        assert [r["outcome"] for r in records if r["tool"] == "create_customer"] == ["sanctions_blocked"]


async def test_a_customer_on_the_list_with_bad_input_is_refused_before_it_is_screened(clocked_stack: Stack) -> None:
    async with client_as(clocked_stack, AGENT, Role.AGENT) as agent:
        refused = await err(agent, "create_customer", name=ON_THE_LIST, email="not-an-address")
        assert refused["code"] == "invalid_argument"
        refused = await err(agent, "create_customer", name=ON_THE_LIST, country="ZZ")
        assert refused["code"] == "invalid_argument"
        for name in ("customers", "approvals", "screenings", "compliance_flags"):
            assert await table(clocked_stack, name) == [], name


async def test_a_payout_to_a_name_on_the_sample_list_is_held_for_review(clocked_stack: Stack) -> None:
    async with (
        client_as(clocked_stack, AGENT, Role.AGENT) as agent,
        client_as(clocked_stack, OPERATOR, Role.OPERATOR) as operator,
    ):
        source = await wallet(agent, "operating")
        await fund(agent, source, "100.00")
        payout = {"wallet_id": source, "currency": "USD", "amount": "40.00"}
        held = await ok(agent, "withdraw_from_wallet", **payout, payee_name="zorvak, ignatius pelleas")
        assert held["status"] == "pending_approval"
        assert "the named payee waits for a compliance review" in held["message"]
        assert await balance(agent, source) == "100.00"
        [flag] = await flags(agent, rule="sanctions_review")
        assert flag["subject"].startswith("name:")
        assert "zorvak" not in str(flag).lower()
        assert [p["payee"] for p in await table(clocked_stack, "known_payees")] == []

        await ok(operator, "approve_request", approval_id=held["approval_id"])
        assert await balance(agent, source) == "60.00"
        # The same name, in other case and punctuation, is known now; a payout naming nobody is not screened.
        await ok(agent, "withdraw_from_wallet", **payout, payee_name="ZORVAK, Ignatius Pelleas", memo="second")
        await ok(agent, "withdraw_from_wallet", **{**payout, "amount": "1.00"})
        assert await balance(agent, source) == "19.00"
        assert len(await table(clocked_stack, "screenings")) == 2  # the held call's, and its approved run's


@pytest.mark.parametrize("spelt", ["4242.4242.4242.4242", "４２４２ ４２４２ ４２４２ ４２４２", "4242-4242-4242-4242"])
async def test_a_card_number_typed_as_a_payees_name_is_stored_nowhere(clocked_stack: Stack, spelt: str) -> None:
    async with client_as(clocked_stack, AGENT, Role.AGENT) as agent:
        source = await wallet(agent, "operating")
        await fund(agent, source, "100.00")
        await ok(agent, "withdraw_from_wallet", wallet_id=source, currency="USD", amount="1.00", payee_name=spelt)
        [screening] = await table(clocked_stack, "screenings")
        assert "4242" in screening["party_name"]  # masked to its last four, as every free text is
        for name in ("screenings", "idempotency_keys", "audit_log", "known_payees", "compliance_flags"):
            rows = str(await table(clocked_stack, name))
            assert "424242424242" not in "".join(c for c in rows if c.isdigit()), name
            assert "４２４２４２" not in rows.replace(" ", ""), name
