"""Inbound provider events on POST /provider/events: signed, deduplicated by id, safe out of order.

These go through the server's own HTTP app in-process, on the test's clock; test_provider_events_process.py
does the same against a real `serve --transport http` process.
"""

from typing import Any

import anyio
import httpx2
import pytest
from sqlalchemy import text

from mcp_payments.bootstrap import sweep_once
from mcp_payments.services.events import MAX_ATTEMPTS, MAX_BODY
from mcp_payments.services.payments.lifecycle import PaymentService
from mcp_payments.services.ports import Ids
from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.payments.card_scan import dump_database
from tests.payments.conftest import engine
from tests.payments.outbox import take_queued
from tests.payments.signed_events import (
    OLD_WEBHOOK_SECRET,
    PATH,
    SIGNATURE_HEADER,
    UNKNOWN_SECRET,
    WEBHOOK_SECRET,
    event_body,
    event_id,
    signature,
)

pytestmark = pytest.mark.anyio


def now(stack: Stack) -> int:
    assert stack.clock is not None
    return int(stack.clock.now().timestamp())


async def post(http: httpx2.AsyncClient, body: bytes, header: str | None) -> httpx2.Response:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers[SIGNATURE_HEADER] = header
    return await http.post(PATH, content=body, headers=headers)


async def deliver(http: httpx2.AsyncClient, stack: Stack, body: bytes) -> dict[str, Any]:
    """Post a correctly signed event; it must be accepted."""
    response = await post(http, body, signature(body, now(stack)))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def provider_events(stack: Stack) -> dict[str, tuple[str, str, int]]:
    async with engine(stack).connect() as conn:
        rows = await conn.execute(text("SELECT id, type, status, attempts FROM provider_events"))
        return {r.id: (r.type, r.status, r.attempts) for r in rows}


def dispute(payment_id: str, stack: Stack, event: str | None = None) -> bytes:
    data = {"payment_id": payment_id, "amount": 1, "reason": "fraudulent"}
    return event_body("charge.dispute.created", data, created=now(stack), event_id=event)


async def test_a_signed_dispute_event_disputes_the_payment_and_moves_the_money(
    agent: Agent, clocked_stack: Stack, provider_http: httpx2.AsyncClient
) -> None:
    payment = await agent.pay("50.00")
    body = dispute(payment["id"], clocked_stack)

    assert await deliver(provider_http, clocked_stack, body) == {"received": True, "status": "processed"}

    view = await agent.payment(payment["id"])
    assert view["payment"]["disputed"] is True
    [_, disputed] = view["ledger"]
    assert disputed["kind"] == "dispute"
    assert {
        e["account_id"]: e["amount"]["amount"] for e in disputed["entries"] if "clearing" not in e["account_id"]
    } == {
        "acc_merchant_USD": "-50.00",
        "acc_disputes_USD": "50.00",
    }
    assert await provider_events(clocked_stack) == {event_id(body): ("charge.dispute.created", "processed", 1)}


async def test_a_duplicate_event_id_is_acknowledged_and_changes_nothing(
    agent: Agent, clocked_stack: Stack, provider_http: httpx2.AsyncClient
) -> None:
    payment = await agent.pay("50.00")
    body = dispute(payment["id"], clocked_stack)
    await deliver(provider_http, clocked_stack, body)
    before = await dump_database(engine(clocked_stack))

    again = await deliver(provider_http, clocked_stack, body)

    assert again == {"received": True, "status": "duplicate"}
    assert await dump_database(engine(clocked_stack)) == before


async def test_a_second_dispute_of_the_same_payment_under_a_new_id_is_ignored(
    agent: Agent, clocked_stack: Stack, provider_http: httpx2.AsyncClient
) -> None:
    payment = await agent.pay("50.00")
    await deliver(provider_http, clocked_stack, dispute(payment["id"], clocked_stack))

    second = await deliver(provider_http, clocked_stack, dispute(payment["id"], clocked_stack))

    assert second["status"] == "ignored"
    assert [t["kind"] for t in (await agent.payment(payment["id"]))["ledger"]] == ["payment_capture", "dispute"]


def altered(body: bytes) -> bytes:
    return body.replace(b'"reason":"fraudulent"', b'"reason":"duplicate"')


# name -> (body to send, header to send) built from a good body and the current time
BAD_SIGNATURES = {
    "signed with an unknown secret": lambda b, t: (b, signature(b, t, UNKNOWN_SECRET)),
    "a body altered after signing": lambda b, t: (altered(b), signature(b, t)),
    "a timestamp 301 s old": lambda b, t: (b, signature(b, t - 301)),
    "a timestamp 301 s ahead": lambda b, t: (b, signature(b, t + 301)),
    "a timestamp changed after signing": lambda b, t: (b, signature(b, t).replace(f"t={t}", f"t={t - 10}")),
    "no signature header": lambda b, t: (b, None),
    "an empty header": lambda b, t: (b, ""),
    "no v1 value": lambda b, t: (b, f"t={t}"),
    "no timestamp": lambda b, t: (b, signature(b, t).split(",", 1)[1]),
    "a truncated v1 value": lambda b, t: (b, signature(b, t)[:-1]),
    "two v1 values from unknown secrets": lambda b, t: (b, signature(b, t, UNKNOWN_SECRET, "whsec_other")),
}


@pytest.mark.parametrize("case", list(BAD_SIGNATURES))
async def test_an_event_whose_signature_does_not_verify_is_rejected_and_changes_nothing(
    agent: Agent, clocked_stack: Stack, provider_http: httpx2.AsyncClient, case: str
) -> None:
    payment = await agent.pay("50.00")
    body, header = BAD_SIGNATURES[case](dispute(payment["id"], clocked_stack), now(clocked_stack))
    before = await dump_database(engine(clocked_stack))

    response = await post(provider_http, body, header)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert await dump_database(engine(clocked_stack)) == before


@pytest.mark.parametrize("age", [-300, 0, 300])
async def test_an_event_signed_within_five_minutes_of_now_is_accepted(
    agent: Agent, clocked_stack: Stack, provider_http: httpx2.AsyncClient, age: int
) -> None:
    payment = await agent.pay("50.00")
    body = dispute(payment["id"], clocked_stack)

    response = await post(provider_http, body, signature(body, now(clocked_stack) - age))

    assert response.status_code == 200


@pytest.mark.parametrize(
    "secrets",
    [(OLD_WEBHOOK_SECRET,), (UNKNOWN_SECRET, OLD_WEBHOOK_SECRET), (WEBHOOK_SECRET, OLD_WEBHOOK_SECRET)],
    ids=["old secret only", "unknown and old", "new and old"],
)
async def test_during_a_secret_rotation_an_event_signed_with_either_configured_secret_is_accepted(
    agent: Agent, clocked_stack: Stack, provider_http: httpx2.AsyncClient, secrets: tuple[str, ...]
) -> None:
    payment = await agent.pay("50.00")
    body = dispute(payment["id"], clocked_stack)

    response = await post(provider_http, body, signature(body, now(clocked_stack), *secrets))

    assert response.status_code == 200
    assert response.json()["status"] == "processed"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"id": "evt_1", "type": "charge.dispute.created"}',
        b'{"id": 7, "type": "charge.dispute.created", "data": {}}',
        b'{"id": "", "type": "x", "data": {}}',
        b'{"id": "' + b"e" * 101 + b'", "type": "x", "data": {}}',
        b'{"id": "evt_big", "type": "x", "data": {"pad": "' + b"x" * MAX_BODY + b'"}}',
    ],
    ids=["not json", "not an object", "no data", "numeric id", "empty id", "long id", "too large"],
)
async def test_a_signed_event_of_the_wrong_shape_is_rejected_and_changes_nothing(
    agent: Agent, clocked_stack: Stack, provider_http: httpx2.AsyncClient, body: bytes
) -> None:
    await agent.pay("50.00")
    before = await dump_database(engine(clocked_stack))

    response = await post(provider_http, body, signature(body, now(clocked_stack)))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_argument"
    assert await dump_database(engine(clocked_stack)) == before


async def test_an_event_of_a_type_this_server_does_not_handle_is_recorded_and_ignored(
    agent: Agent, clocked_stack: Stack, provider_http: httpx2.AsyncClient
) -> None:
    body = event_body("payout.paid", {"payout_id": "po_1"}, created=now(clocked_stack))

    assert (await deliver(provider_http, clocked_stack, body))["status"] == "ignored"
    assert await provider_events(clocked_stack) == {event_id(body): ("payout.paid", "ignored", 1)}


class NextRefundId:
    """The service's ids, except that the next refund gets an id the test chose (to send its event first)."""

    def __init__(self, ids: Ids, refund_id: str) -> None:
        self.ids = ids
        self.refund_id: str | None = refund_id

    def new(self, prefix: str) -> str:
        if prefix == "ref" and self.refund_id is not None:
            chosen, self.refund_id = self.refund_id, None
            return chosen
        return self.ids.new(prefix)


async def test_a_refund_failed_event_for_a_refund_not_yet_known_stays_pending_until_a_later_sweep(
    agent: Agent, clocked_stack: Stack, provider_http: httpx2.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = clocked_stack.services
    payment = await agent.pay("40.00", "pm_card_refundFail")
    refund_id = "ref_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    data = {"refund_id": refund_id, "payment_id": payment["id"], "failure_reason": "account closed"}
    early = event_body("refund.failed", data, created=now(clocked_stack))

    assert (await deliver(provider_http, clocked_stack, early))["status"] == "pending"
    assert await sweep_once(services) == 0, "still nothing to apply it to"
    assert (await agent.payment(payment["id"]))["refunds"] == []

    monkeypatch.setattr(services.get(PaymentService), "ids", NextRefundId(services.get(PaymentService).ids, refund_id))
    refund = (await agent.ok("refund_payment", payment_id=payment["id"]))["refund"]
    assert (refund["id"], refund["status"]) == (refund_id, "pending")
    await take_queued(clocked_stack)  # drop the sandbox's own copy: only the early event may apply it
    assert await sweep_once(services) == 1

    view = await agent.payment(payment["id"])
    [failed] = view["refunds"]
    assert (failed["status"], failed["failure_reason"]) == ("failed", "account closed")
    assert view["payment"]["amount_refunded"]["amount_minor"] == 0
    assert [t["kind"] for t in view["ledger"]] == ["payment_capture", "refund", "refund_reversal"]
    assert (await provider_events(clocked_stack))[event_id(early)] == ("refund.failed", "processed", 3)


async def test_a_dispute_that_arrives_before_the_capture_is_applied_once_the_payment_succeeds(
    agent: Agent, clocked_stack: Stack, provider_http: httpx2.AsyncClient
) -> None:
    payment = await agent.pay("80.00", capture_method="manual")
    early = dispute(payment["id"], clocked_stack)

    assert (await deliver(provider_http, clocked_stack, early))["status"] == "pending"
    assert (await agent.payment(payment["id"]))["payment"]["disputed"] is False

    await agent.ok("capture_payment", payment_id=payment["id"], amount="30.00")
    await sweep_once(clocked_stack.services)

    view = await agent.payment(payment["id"])
    assert view["payment"]["disputed"] is True
    assert [t["kind"] for t in view["ledger"]] == ["payment_capture", "dispute"]
    assert view["ledger"][1]["entries"][-1]["amount"]["amount"] == "30.00", "only what was captured is disputed"


async def test_an_event_that_never_finds_its_target_is_given_up_after_the_maximum_attempts(
    agent: Agent, clocked_stack: Stack, provider_http: httpx2.AsyncClient
) -> None:
    body = dispute("pay_01ARZ3NDEKTSV4RRFFQ69G5FAV", clocked_stack)
    assert (await deliver(provider_http, clocked_stack, body))["status"] == "pending"

    for _ in range(MAX_ATTEMPTS - 2):
        await sweep_once(clocked_stack.services)
    assert (await provider_events(clocked_stack))[event_id(body)][1:] == ("pending", MAX_ATTEMPTS - 1)
    await sweep_once(clocked_stack.services)

    assert (await provider_events(clocked_stack))[event_id(body)][1:] == ("ignored", MAX_ATTEMPTS)
    assert await sweep_once(clocked_stack.services) == 0


async def test_the_sandbox_dispute_of_its_dispute_card_arrives_through_the_same_signed_endpoint(
    agent: Agent, clocked_stack: Stack, provider_http: httpx2.AsyncClient
) -> None:
    payment = await agent.ok(
        "create_payment",
        currency="USD",
        amount="40.00",
        card_number="4000 0000 0000 0259",
        card_exp_month=1,
        card_exp_year=2031,
    )
    [(body, header)] = await take_queued(clocked_stack)  # what due work would deliver

    first = await post(provider_http, body, header)
    replay = await post(provider_http, body, header)

    assert (first.status_code, first.json()["status"]) == (200, "processed")
    assert (replay.status_code, replay.json()["status"]) == (200, "duplicate")
    view = await agent.payment(payment["payment"]["id"])
    assert view["payment"]["disputed"] is True
    assert [t["kind"] for t in view["ledger"]] == ["payment_capture", "dispute"]
    assert await provider_events(clocked_stack) == {event_id(body): ("charge.dispute.created", "processed", 1)}


async def test_the_same_event_delivered_several_times_at_once_is_applied_once(
    agent: Agent, clocked_stack: Stack, provider_http: httpx2.AsyncClient
) -> None:
    payment = await agent.pay("50.00")
    body = dispute(payment["id"], clocked_stack)
    statuses: list[str] = []

    async def deliver_once() -> None:
        statuses.append((await deliver(provider_http, clocked_stack, body))["status"])

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(deliver_once)

    assert sorted(statuses) == ["duplicate"] * 4 + ["processed"]
    assert [t["kind"] for t in (await agent.payment(payment["id"]))["ledger"]] == ["payment_capture", "dispute"]
