"""Payment and refund state machines: every (state, action) pair, in the domain and through the tools."""

from collections.abc import Awaitable, Callable
from itertools import product

import pytest

from mcp_payments.domain.errors import InvalidStateTransition
from mcp_payments.domain.payments import (
    PAYMENT_TRANSITIONS,
    REFUND_TRANSITIONS,
    PaymentAction,
    PaymentStatus,
    RefundAction,
    RefundStatus,
    next_refund_status,
    next_status,
)
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio

S, A = PaymentStatus, PaymentAction
R, RA = RefundStatus, RefundAction

# Written out again here, not imported: the test states what the machine must be.
EXPECTED_PAYMENT = {
    (S.REQUIRES_CONFIRMATION, A.AUTHORIZE): S.REQUIRES_CAPTURE,
    (S.REQUIRES_CONFIRMATION, A.SUCCEED): S.SUCCEEDED,
    (S.REQUIRES_CONFIRMATION, A.DECLINE): S.REQUIRES_PAYMENT_METHOD,
    (S.REQUIRES_CONFIRMATION, A.REQUIRE_ACTION): S.REQUIRES_ACTION,
    (S.REQUIRES_CONFIRMATION, A.CANCEL): S.CANCELED,
    (S.REQUIRES_ACTION, A.CONFIRM): S.PROCESSING,
    (S.REQUIRES_ACTION, A.CANCEL): S.CANCELED,
    (S.REQUIRES_ACTION, A.EXPIRE): S.CANCELED,
    (S.PROCESSING, A.AUTHORIZE): S.REQUIRES_CAPTURE,
    (S.PROCESSING, A.SUCCEED): S.SUCCEEDED,
    (S.PROCESSING, A.DECLINE): S.REQUIRES_PAYMENT_METHOD,
    (S.REQUIRES_PAYMENT_METHOD, A.CANCEL): S.CANCELED,
    (S.REQUIRES_CAPTURE, A.CAPTURE): S.SUCCEEDED,
    (S.REQUIRES_CAPTURE, A.CANCEL): S.CANCELED,
    (S.REQUIRES_CAPTURE, A.EXPIRE): S.CANCELED,
    (S.SUCCEEDED, A.REFUND): S.SUCCEEDED,
}
EXPECTED_REFUND = {
    (R.PENDING, RA.SUCCEED): R.SUCCEEDED,
    (R.PENDING, RA.FAIL): R.FAILED,
    (R.PENDING, RA.CANCEL): R.CANCELED,
}
TERMINAL_PAYMENT = {S.SUCCEEDED, S.CANCELED}


def test_the_payment_transition_table_is_exactly_the_expected_one() -> None:
    assert dict(PAYMENT_TRANSITIONS) == EXPECTED_PAYMENT


def test_the_refund_transition_table_is_exactly_the_expected_one() -> None:
    assert dict(REFUND_TRANSITIONS) == EXPECTED_REFUND


@pytest.mark.parametrize(("status", "action"), list(product(PaymentStatus, PaymentAction)))
def test_every_payment_state_and_action_pair_moves_as_the_table_says_or_is_refused(
    status: PaymentStatus, action: PaymentAction
) -> None:
    expected = EXPECTED_PAYMENT.get((status, action))
    if expected is not None:
        assert next_status("pay_x", status, action) is expected
        return
    with pytest.raises(InvalidStateTransition) as refused:
        next_status("pay_x", status, action)
    assert refused.value.code == "invalid_state"
    assert refused.value.details == {"payment_id": "pay_x", "status": status.value, "action": action.value}
    assert f"is {status.value} and cannot {action.value}" in refused.value.message


@pytest.mark.parametrize(("status", "action"), list(product(RefundStatus, RefundAction)))
def test_every_refund_state_and_action_pair_moves_as_the_table_says_or_is_refused(
    status: RefundStatus, action: RefundAction
) -> None:
    expected = EXPECTED_REFUND.get((status, action))
    if expected is not None:
        assert next_refund_status("ref_x", status, action) is expected
        return
    with pytest.raises(InvalidStateTransition) as refused:
        next_refund_status("ref_x", status, action)
    assert refused.value.code == "invalid_state"


@pytest.mark.parametrize("status", list(PaymentStatus))
def test_a_terminal_payment_state_is_only_left_for_itself(status: PaymentStatus) -> None:
    targets = {EXPECTED_PAYMENT[(status, a)] for a in PaymentAction if (status, a) in EXPECTED_PAYMENT}
    if status in TERMINAL_PAYMENT:
        assert targets <= {status}, "a terminal payment never moves to another state"
    else:
        assert targets, "every non-terminal state has a way out"


@pytest.mark.parametrize("status", [R.SUCCEEDED, R.FAILED, R.CANCELED])
def test_a_finished_refund_accepts_no_action(status: RefundStatus) -> None:
    for action in RefundAction:
        with pytest.raises(InvalidStateTransition):
            next_refund_status("ref_x", status, action)


# Through the tools: each state a payment can be left in, and each action an agent can take on it.
async def declined(agent: Agent) -> str:
    body = await agent.err("create_payment", currency="USD", amount="10.00", payment_method="pm_card_chargeDeclined")
    return str(body["details"]["payment_id"])


async def in_3ds(agent: Agent) -> str:
    return str((await agent.pay("10.00", "pm_card_threeDSecureRequired"))["id"])


async def authorized(agent: Agent) -> str:
    return str((await agent.pay("10.00", capture_method="manual"))["id"])


async def succeeded(agent: Agent) -> str:
    return str((await agent.pay("10.00"))["id"])


async def canceled(agent: Agent) -> str:
    payment_id = await authorized(agent)
    await agent.ok("cancel_payment", payment_id=payment_id)
    return payment_id


STATES: dict[str, Callable[[Agent], Awaitable[str]]] = {
    "requires_payment_method": declined,
    "requires_action": in_3ds,
    "requires_capture": authorized,
    "succeeded": succeeded,
    "canceled": canceled,
}
TOOLS = ("confirm_payment", "capture_payment", "cancel_payment", "refund_payment")
# (state, tool) -> the payment's status after the call, or None when the call must be refused.
EXPECTED_TOOL_OUTCOMES: dict[tuple[str, str], str | None] = {
    ("requires_payment_method", "confirm_payment"): None,
    ("requires_payment_method", "capture_payment"): None,
    ("requires_payment_method", "cancel_payment"): "canceled",
    ("requires_payment_method", "refund_payment"): None,
    ("requires_action", "confirm_payment"): "succeeded",
    ("requires_action", "capture_payment"): None,
    ("requires_action", "cancel_payment"): "canceled",
    ("requires_action", "refund_payment"): None,
    ("requires_capture", "confirm_payment"): None,
    ("requires_capture", "capture_payment"): "succeeded",
    ("requires_capture", "cancel_payment"): "canceled",
    ("requires_capture", "refund_payment"): None,
    ("succeeded", "confirm_payment"): None,
    ("succeeded", "capture_payment"): None,
    ("succeeded", "cancel_payment"): None,
    ("succeeded", "refund_payment"): "succeeded",
    ("canceled", "confirm_payment"): None,
    ("canceled", "capture_payment"): None,
    ("canceled", "cancel_payment"): None,
    ("canceled", "refund_payment"): None,
}


def test_the_tool_matrix_covers_every_reachable_state_and_every_payment_action() -> None:
    assert set(EXPECTED_TOOL_OUTCOMES) == set(product(STATES, TOOLS))


@pytest.mark.parametrize(("state", "tool"), list(EXPECTED_TOOL_OUTCOMES))
async def test_each_payment_tool_on_each_payment_state_moves_it_or_is_refused_with_invalid_state(
    agent: Agent, state: str, tool: str
) -> None:
    payment_id = await STATES[state](agent)
    before = await agent.payment(payment_id)
    assert before["payment"]["status"] == state
    expected = EXPECTED_TOOL_OUTCOMES[(state, tool)]
    # A key of its own, so that an action repeated on purpose is not taken for a blind retry.
    key = f"{tool}-on-{state}"

    if expected is None:
        refused = await agent.err(tool, payment_id=payment_id, idempotency_key=key)
        assert refused["code"] == "invalid_state", refused
        assert refused["details"]["status"] == state
        after = await agent.payment(payment_id)
        assert after == before, "a refused action changes nothing"
    else:
        await agent.ok(tool, payment_id=payment_id, idempotency_key=key)
        assert (await agent.payment(payment_id))["payment"]["status"] == expected
