"""Manual capture: all or part of an authorization, never more, once."""

import pytest

from mcp_payments.adapters.providers.sandbox import SandboxProvider
from mcp_payments.domain.payments import fee_for
from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.payments.card_scan import dump_database
from tests.payments.conftest import engine

pytestmark = pytest.mark.anyio


async def test_an_authorization_reserves_the_amount_and_expires_in_seven_days(agent: Agent) -> None:
    payment = await agent.pay("100.00", capture_method="manual")

    assert payment["status"] == "requires_capture"
    assert payment["amount_capturable"]["amount"] == "100.00"
    assert payment["amount_received"]["amount_minor"] == 0
    assert payment["authorization_expires_at"] == "2026-01-08T00:00:00Z"
    assert "capture_payment" in payment["next_action"]
    assert (await agent.payment(payment["id"]))["ledger"] == [], "an authorization moves no money yet"


async def test_capturing_part_of_an_authorization_charges_that_part_and_releases_the_rest(agent: Agent) -> None:
    payment = await agent.pay("100.00", capture_method="manual")

    captured = (await agent.ok("capture_payment", payment_id=payment["id"], amount="60.00"))["payment"]

    assert captured["status"] == "succeeded"
    assert captured["amount_received"]["amount"] == "60.00"
    assert captured["amount_capturable"]["amount_minor"] == 0
    fee = fee_for(6000, 290, 30)
    assert captured["fee"]["amount_minor"] == fee
    view = await agent.payment(payment["id"])
    assert view["events"][-1] == {
        "type": "payment.captured",
        "created_at": "2026-01-01T00:00:00Z",
        "data": {"amount": 6000, "released": 4000},
    }
    [capture] = view["ledger"]
    amounts = {
        e["account_id"]: e["amount"]["amount_minor"]
        for e in capture["entries"]
        if e["account_id"] != "acc_clearing_USD"
    }
    assert amounts == {"acc_external_USD": -6000, "acc_merchant_USD": 6000 - fee, "acc_fees_USD": fee}
    refused = await agent.err("refund_payment", payment_id=payment["id"], amount="60.01")
    assert refused["code"] == "refund_exceeds_captured"
    assert refused["details"]["refundable"] == "60.00"


async def test_capturing_without_an_amount_captures_the_whole_authorization(agent: Agent) -> None:
    payment = await agent.pay("100.00", capture_method="manual")

    captured = (await agent.ok("capture_payment", payment_id=payment["id"]))["payment"]

    assert captured["amount_received"]["amount"] == "100.00"


async def test_a_capture_can_be_given_in_minor_units(agent: Agent) -> None:
    payment = await agent.pay("100.00", capture_method="manual")

    captured = (await agent.ok("capture_payment", payment_id=payment["id"], amount_minor=1234))["payment"]

    assert captured["amount_received"]["amount"] == "12.34"


async def test_capturing_more_than_authorized_is_refused_and_changes_nothing(
    agent: Agent, clocked_stack: Stack
) -> None:
    payment = await agent.pay("100.00", capture_method="manual")
    before = await dump_database(engine(clocked_stack))

    refused = await agent.err("capture_payment", payment_id=payment["id"], amount="100.01")

    assert refused["code"] == "capture_exceeds_authorized"
    assert refused["details"] == {"payment_id": payment["id"], "capturable": "100.00"}
    assert "100.00 USD authorized" in refused["message"]
    assert await dump_database(engine(clocked_stack)) == before


@pytest.mark.parametrize(
    ("amount", "code"),
    [("0", "invalid_amount"), ("0.00", "invalid_amount"), ("-5.00", "invalid_amount"), ("1.001", "invalid_amount")],
)
async def test_a_capture_amount_that_is_not_a_positive_exact_amount_is_refused(
    agent: Agent, clocked_stack: Stack, amount: str, code: str
) -> None:
    payment = await agent.pay("100.00", capture_method="manual")
    before = await dump_database(engine(clocked_stack))

    refused = await agent.err("capture_payment", payment_id=payment["id"], amount=amount)

    assert refused["code"] == code
    assert await dump_database(engine(clocked_stack)) == before


async def test_a_second_capture_is_refused_with_invalid_state(agent: Agent) -> None:
    payment = await agent.pay("100.00", capture_method="manual")
    await agent.ok("capture_payment", payment_id=payment["id"], amount="10.00", idempotency_key="capture-1")

    refused = await agent.err("capture_payment", payment_id=payment["id"], amount="10.00", idempotency_key="capture-2")

    assert refused["code"] == "invalid_state"
    assert (await agent.payment(payment["id"]))["payment"]["amount_received"]["amount"] == "10.00"


async def test_a_capture_the_provider_did_not_answer_changes_nothing_and_can_be_retried_with_its_key(
    agent: Agent, clocked_stack: Stack
) -> None:
    payment = await agent.pay("100.00", capture_method="manual")
    before = await dump_database(engine(clocked_stack))
    clocked_stack.services.get(SandboxProvider).fail_next()  # the sandbox's test switch

    failed = await agent.err(
        "capture_payment", payment_id=payment["id"], amount="50.00", idempotency_key="capture-after-outage"
    )

    assert (failed["code"], failed["retryable"]) == ("provider_unavailable", True)
    assert await dump_database(engine(clocked_stack)) == before
    retried = await agent.ok(
        "capture_payment", payment_id=payment["id"], amount="50.00", idempotency_key="capture-after-outage"
    )
    assert retried["payment"]["amount_received"]["amount"] == "50.00"
    assert retried["deduplicated"] is False


async def test_canceling_an_authorization_releases_it_without_moving_money(agent: Agent) -> None:
    payment = await agent.pay("100.00", capture_method="manual")

    canceled = (await agent.ok("cancel_payment", payment_id=payment["id"], reason="customer changed their mind"))[
        "payment"
    ]

    assert canceled["status"] == "canceled"
    assert canceled["amount_capturable"]["amount_minor"] == 0
    assert canceled["cancellation_reason"] == "customer changed their mind"
    assert canceled["canceled_at"] == "2026-01-01T00:00:00Z"
    assert (await agent.payment(payment["id"]))["ledger"] == []
