"""Invariant 8: after a run that pays with every test card, by number in every usual spelling, no Luhn-valid
13-19 digit number is in the database, the logs or any tool output. (The `agent` fixture runs the same
scan after every test of this package; this test makes the whole run explicit.)"""

from collections.abc import MutableMapping
from typing import Any

import pytest

from mcp_payments.adapters.providers.sandbox import TEST_CARDS
from mcp_payments.bootstrap import sweep_once
from tests.conftest import Stack
from tests.payments.agent import Agent, body_of
from tests.payments.card_scan import card_numbers_in, dump_database
from tests.payments.conftest import engine

pytestmark = pytest.mark.anyio

SPELLINGS = [
    lambda n: n,
    lambda n: " ".join(n[i : i + 4] for i in range(0, len(n), 4)),
    lambda n: "-".join(n[i : i + 4] for i in range(0, len(n), 4)),
]


async def test_no_card_number_is_stored_logged_or_returned_after_paying_with_every_test_card(
    agent: Agent, clocked_stack: Stack, logs: list[MutableMapping[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    customer = (await agent.ok("create_customer", email="pci@example.com", name="Pat Card"))["customer"]["id"]
    wallet = (await agent.ok("create_wallet", currency="USD", name="proceeds"))["wallet"]["id"]
    payments: list[str] = []
    for i, card in enumerate(TEST_CARDS.values()):
        for j, spelling in enumerate(SPELLINGS):
            for capture_method in ("automatic", "manual"):
                result = await agent.call(
                    "create_payment",
                    currency="USD",
                    amount=f"{10 + i}.00",
                    card_number=spelling(card.number),
                    card_exp_month=12,
                    card_exp_year=2030,
                    card_cvc="737",
                    customer_id=customer,
                    capture_method=capture_method,
                    description=f"order {i}",
                    idempotency_key=f"pci-{i}-{j}-{capture_method}",
                )
                body: Any = body_of(result)
                assert not result.is_error or body["code"] == "card_declined", body
                payments.append(body["details"]["payment_id"] if result.is_error else body["payment"]["id"])
    # Every way an agent might misplace a number: a token, a malformed field, a bad expiry.
    await agent.err("create_payment", currency="USD", amount="1.00", payment_method="pm_4242424242424242")
    await agent.err("create_payment", currency="USD", amount="1.00", card_number="4242 4242 4242 4242 x")
    await agent.err(
        "create_payment",
        currency="USD",
        amount="1.00",
        card_number="4242424242424242",
        card_exp_month=1,
        card_exp_year=2020,
    )
    await agent.err("create_payment", currency="USD", amount="1.00", card_number="4242424242424242")

    for payment_id in payments:
        status = (await agent.payment(payment_id))["payment"]["status"]
        match status:
            case "requires_action":
                await agent.ok("confirm_payment", payment_id=payment_id)
            case "requires_capture":
                await agent.ok("capture_payment", payment_id=payment_id, amount="5.00")
    for payment_id in payments:
        if (await agent.payment(payment_id))["payment"]["status"] == "succeeded":
            await agent.ok("refund_payment", payment_id=payment_id, amount="1.00")
            await agent.ok("fund_wallet", wallet_id=wallet, payment_id=payment_id, amount="1.00")
    await sweep_once(clocked_stack.services)
    for payment_id in payments:
        await agent.payment(payment_id)
    await agent.ok("list_payments", limit=100)
    await agent.ok("get_audit_log")
    await agent.ok("verify_audit_chain")
    await agent.ledger_ok()

    assert card_numbers_in(agent.outputs) == []
    assert card_numbers_in(map(repr, logs)) == []
    assert card_numbers_in([caplog.text]) == []
    stored = await dump_database(engine(clocked_stack))
    assert any(row.startswith("idempotency_keys: ") and "hmac:" in row for row in stored), "card inputs kept as HMACs"
    assert card_numbers_in(stored) == []
    assert not [row for row in stored if "737" in row.split(" | ")], "the CVC is never stored"


async def test_an_unknown_token_is_not_echoed_back_so_a_card_number_typed_into_it_does_not_leak(agent: Agent) -> None:
    refused = await agent.err("create_payment", currency="USD", amount="1.00", payment_method="pm_4000000000000002")

    assert refused["code"] == "unknown_payment_method"
    assert "pm_card_visa" in refused["details"]["known_tokens"]
    assert "4000000000000002" not in refused["message"]
