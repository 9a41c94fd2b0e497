"""Retention on both databases: past their windows, screenings lose the party's personal data, spend records and
delivered webhook deliveries go; what is inside its window, or still owed, stays."""

import pytest

from mcp_payments.services.job_runner import JobRunner
from tests.compliance.conftest import rows
from tests.conftest import Stack
from tests.notifications.conftest import clock_of, deliver, endpoint, pay
from tests.notifications.receiver import receiving
from tests.payments.agent import Agent

pytestmark = pytest.mark.anyio


async def run(stack: Stack, name: str) -> int:
    [job] = [job for job in stack.services.jobs if job.name == name]
    return (await stack.services.get(JobRunner).run(job)).done


async def test_a_screening_past_its_window_keeps_its_decision_but_not_the_partys_name(
    admin: Agent, clocked_stack: Stack
) -> None:
    await admin.ok("screen_party", name="Odalys Brennecke", type="person", date_of_birth="1971-03-09")
    clock_of(clocked_stack).advance(days=364)
    await admin.ok("screen_party", name="Ferdinand Oyelaran", type="person")
    clock_of(clocked_stack).advance(days=2)

    assert await run(clocked_stack, "redact_old_screenings") == 1
    assert await run(clocked_stack, "redact_old_screenings") == 0

    found = await rows(clocked_stack, "SELECT party_name, party_born, decision FROM screenings ORDER BY screened_at")
    assert [(r["party_name"], r["party_born"], r["decision"]) for r in found] == [
        ("[redacted]", None, "clear"),
        ("Ferdinand Oyelaran", None, "clear"),
    ]


async def test_spend_records_past_their_window_are_deleted(admin: Agent, clocked_stack: Stack) -> None:
    wallet = (await admin.ok("create_wallet", currency="USD", name="spender"))["wallet"]["id"]
    other = (await admin.ok("create_wallet", currency="USD", name="payee"))["wallet"]["id"]
    await admin.ok("fund_wallet", wallet_id=wallet, currency="USD", amount="50.00")
    await admin.ok("set_spending_policy", currency="USD", principal="key:dpo", daily="1000.00")  # so spends count
    transfer = {"source_wallet_id": wallet, "destination_wallet_id": other, "currency": "USD"}
    await admin.ok("transfer_funds", **transfer, amount="5.00")
    assert len(await rows(clocked_stack, "SELECT id FROM spend_records")) == 1
    clock_of(clocked_stack).advance(days=399)
    await admin.ok("transfer_funds", **transfer, amount="6.00")
    clock_of(clocked_stack).advance(days=2)

    assert await run(clocked_stack, "purge_spend_records") == 1

    assert [r["amount"] for r in await rows(clocked_stack, "SELECT amount FROM spend_records")] == [600]


async def test_delivered_deliveries_past_their_window_go_with_their_events_and_failed_ones_stay(
    admin: Agent, clocked_stack: Stack
) -> None:
    with receiving() as receiver:
        await endpoint(admin, receiver.url)
        await pay(admin)
        assert await deliver(clocked_stack) == 1
        receiver.status = 500
        await pay(admin, "13.00")
        await deliver(clocked_stack)  # fails: it stays pending, for its next attempt
    clock_of(clocked_stack).advance(days=31)

    assert await run(clocked_stack, "purge_webhook_deliveries") == 1

    left = await rows(clocked_stack, "SELECT status FROM webhook_deliveries")
    assert [r["status"] for r in left] == ["pending"]
    assert len(await rows(clocked_stack, "SELECT id FROM webhook_events")) == 1
