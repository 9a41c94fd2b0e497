"""Paying with every sandbox test card, by token and by number: the resulting state and error code."""

from dataclasses import dataclass
from typing import Any

import pytest

from mcp_payments.adapters.providers.sandbox import TEST_CARDS
from mcp_payments.bootstrap import sweep_once
from tests.conftest import Stack
from tests.payments.agent import Agent, body_of

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Expected:
    token: str
    brand: str
    status: str
    decline_code: str | None = None
    retryable: bool = False


# The card list of the design (section 6), written out so that the sandbox cannot drift from it silently.
CARDS = {
    "4242424242424242": Expected("pm_card_visa", "visa", "succeeded"),
    "5555555555554444": Expected("pm_card_mastercard", "mastercard", "succeeded"),
    "4000000000000002": Expected("pm_card_chargeDeclined", "visa", "requires_payment_method", "card_declined"),
    # Issue 11: attaches (a subscription with a trial, update_subscription), every charge declined (Stripe's 0341).
    "4000000000000341": Expected("pm_card_chargeCustomerFail", "visa", "requires_payment_method", "card_declined"),
    "4000000000009995": Expected(
        "pm_card_chargeDeclinedInsufficientFunds", "visa", "requires_payment_method", "insufficient_funds"
    ),
    "4000000000009987": Expected("pm_card_chargeDeclinedLostCard", "visa", "requires_payment_method", "lost_card"),
    "4000000000009979": Expected("pm_card_chargeDeclinedStolenCard", "visa", "requires_payment_method", "stolen_card"),
    "4000000000000069": Expected(
        "pm_card_chargeDeclinedExpiredCard", "visa", "requires_payment_method", "expired_card"
    ),
    "4000000000000127": Expected(
        "pm_card_chargeDeclinedIncorrectCvc", "visa", "requires_payment_method", "incorrect_cvc"
    ),
    "4000000000000119": Expected(
        "pm_card_chargeDeclinedProcessingError", "visa", "requires_payment_method", "processing_error", retryable=True
    ),
    "4000002760003184": Expected("pm_card_threeDSecureRequired", "visa", "requires_action"),
    "4000000000005126": Expected("pm_card_refundFail", "visa", "succeeded"),
    "4000000000000259": Expected("pm_card_createDispute", "visa", "succeeded"),
    # Issued outside the US (Stripe's country cards): fraud scoring compares the card's country with the customer's.
    "4000000760000002": Expected("pm_card_br", "visa", "succeeded"),
    "4000001240000000": Expected("pm_card_ca", "visa", "succeeded"),
    "4000008260000000": Expected("pm_card_gb", "visa", "succeeded"),
    "4000004840008001": Expected("pm_card_mx", "visa", "succeeded"),
}
CASES = [(number, via) for number in CARDS for via in ("token", "number")]


def test_the_sandbox_knows_exactly_the_cards_of_the_design() -> None:
    assert {card.number: token for token, card in TEST_CARDS.items()} == {n: e.token for n, e in CARDS.items()}


def spaced(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def method_arguments(number: str, via: str) -> dict[str, Any]:
    if via == "token":
        return {"payment_method": CARDS[number].token}
    return {"card_number": spaced(number), "card_exp_month": 12, "card_exp_year": 2030, "card_cvc": "123"}


@pytest.mark.parametrize(("number", "via"), CASES)
async def test_each_test_card_ends_in_its_documented_state_with_its_error_code(
    agent: Agent, number: str, via: str
) -> None:
    expected = CARDS[number]
    arguments = {"currency": "USD", "amount": "25.00", **method_arguments(number, via)}

    if expected.decline_code is None:
        payment = (await agent.ok("create_payment", **arguments))["payment"]
        payment_id = payment["id"]
    else:
        error = await agent.err("create_payment", **arguments)
        assert error["code"] == "card_declined"
        assert error["retryable"] is expected.retryable
        assert error["details"]["decline_code"] == expected.decline_code
        assert error["details"]["status"] == "requires_payment_method"
        assert expected.decline_code in error["message"]
        payment_id = error["details"]["payment_id"]

    view = await agent.payment(payment_id)
    payment = view["payment"]
    assert payment["status"] == expected.status
    assert payment["decline_code"] == expected.decline_code
    assert payment["card"]["brand"] == expected.brand
    assert payment["card"]["last4"] == number[-4:]
    received = 2500 if expected.status == "succeeded" else 0
    assert payment["amount_received"]["amount_minor"] == received
    assert [t["kind"] for t in view["ledger"]] == (["payment_capture"] if received else [])
    assert [a["outcome"] for a in view["attempts"]] == [
        {"succeeded": "approved", "requires_action": "requires_action"}.get(expected.status, "declined")
    ]


@pytest.mark.parametrize("number", list(CARDS))
async def test_a_card_given_by_number_has_the_same_fingerprint_as_its_token(agent: Agent, number: str) -> None:
    arguments = method_arguments(number, "number")
    by_number = await agent.call("create_payment", currency="USD", amount="1.00", **arguments)
    by_token = await agent.call("create_payment", currency="USD", amount="1.00", **method_arguments(number, "token"))

    def payment_id_of(result: Any) -> str:
        body = body_of(result)
        payment_id = body["details"]["payment_id"] if result.is_error else body["payment"]["id"]
        return str(payment_id)

    first = (await agent.payment(payment_id_of(by_number)))["payment"]["card"]["fingerprint"]
    second = (await agent.payment(payment_id_of(by_token)))["payment"]["card"]["fingerprint"]
    assert first == second
    assert len(first) == 32


async def test_a_3d_secure_payment_waits_for_confirm_payment_and_then_succeeds(agent: Agent) -> None:
    payment = await agent.pay("30.00", "pm_card_threeDSecureRequired")
    assert payment["status"] == "requires_action"
    assert "confirm_payment" in payment["next_action"]
    assert payment["amount_received"]["amount_minor"] == 0

    confirmed = (await agent.ok("confirm_payment", payment_id=payment["id"]))["payment"]

    assert confirmed["status"] == "succeeded"
    assert confirmed["amount_received"]["amount"] == "30.00"
    view = await agent.payment(payment["id"])
    assert [a["action"] for a in view["attempts"]] == ["authorize", "confirm"]
    assert [t["kind"] for t in view["ledger"]] == ["payment_capture"]


async def test_a_3d_secure_payment_with_manual_capture_waits_for_capture_after_confirmation(agent: Agent) -> None:
    payment = await agent.pay("30.00", "pm_card_threeDSecureRequired", capture_method="manual")

    confirmed = (await agent.ok("confirm_payment", payment_id=payment["id"]))["payment"]

    assert confirmed["status"] == "requires_capture"
    assert confirmed["amount_capturable"]["amount"] == "30.00"
    assert confirmed["amount_received"]["amount_minor"] == 0


async def test_a_declined_payment_is_kept_but_moves_no_money(agent: Agent) -> None:
    before = await agent.ok("check_ledger_integrity")
    error = await agent.err("create_payment", currency="USD", amount="10.00", payment_method="pm_card_chargeDeclined")

    view = await agent.payment(error["details"]["payment_id"])
    assert view["payment"]["status"] == "requires_payment_method"
    assert "another payment method" in view["payment"]["next_action"]
    assert view["ledger"] == []
    after = await agent.ok("check_ledger_integrity")
    assert (after["transactions"], after["entries"]) == (before["transactions"], before["entries"])


@pytest.mark.parametrize(
    ("number", "month", "year"),
    [
        ("4242424242424241", 12, 2030),  # wrong check digit
        ("424242424242", 12, 2030),  # too short
        ("4242424242424242", 12, 2025),  # expired before the (fake) clock's 2026-01
    ],
)
async def test_an_invalid_card_is_refused_before_any_payment_exists(
    agent: Agent, clocked_stack: Stack, number: str, month: int, year: int
) -> None:
    error = await agent.err(
        "create_payment", currency="USD", amount="10.00", card_number=number, card_exp_month=month, card_exp_year=year
    )

    assert error["code"] in {"invalid_card", "invalid_argument"}
    assert (await agent.ok("list_payments"))["payments"] == []


async def test_the_disputed_test_card_is_disputed_once_the_provider_event_arrives(
    agent: Agent, clocked_stack: Stack
) -> None:
    payment = await agent.pay("40.00", "pm_card_createDispute")
    assert payment["disputed"] is False

    await sweep_once(clocked_stack.services)

    view = await agent.payment(payment["id"])
    assert view["payment"]["disputed"] is True
    assert [e["type"] for e in view["events"]][-1] == "payment.disputed"
    assert [t["kind"] for t in view["ledger"]] == ["payment_capture", "dispute"]
