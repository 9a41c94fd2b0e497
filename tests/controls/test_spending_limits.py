"""Spending limits hold in the movement's own transaction, on both databases, however calls interleave."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import anyio
import pytest
from mcp.client import Client
from sqlalchemy import func, select

from mcp_payments.adapters.db import tables
from mcp_payments.adapters.db.engine import open_database
from mcp_payments.domain.limits import Policy, role_subject
from mcp_payments.domain.roles import Role
from mcp_payments.server.callers import local_principal
from mcp_payments.services.controls import SpendingControls
from tests.conftest import FakeClock, Stack
from tests.helpers import err, funded_wallet, ok

pytestmark = pytest.mark.anyio
DOLLAR = 100


@pytest.fixture
async def client(clocked_stack: Stack) -> AsyncIterator[Client]:
    async with Client(clocked_stack.server) as c:
        yield c


async def set_policy(stack: Stack, subject: str | None = None, **limits: Any) -> None:
    controls = stack.services.get(SpendingControls)
    policy = Policy(subject or local_principal(), limits.pop("currency", "USD"), **limits)
    await stack.services.calls.write(lambda uow: controls.put_policy(uow, policy, "cli:test"))


async def spend_rows(stack: Stack) -> int:
    db = open_database(stack.settings.db_url)
    try:
        async with db.reader.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(tables.spend_records))).scalar_one())
    finally:
        await db.dispose()


async def transfer(client: Client, source: str, destination: str, amount: str, **extra: Any) -> Any:
    arguments = {"source_wallet_id": source, "destination_wallet_id": destination, "currency": "USD"}
    return await client.call_tool("transfer_funds", {**arguments, "amount": amount, **extra})


def body(result: Any) -> dict[str, Any]:
    return dict(json.loads(result.content[0].text))


async def test_twenty_concurrent_transfers_under_a_daily_limit_succeed_exactly_ten_times(
    clocked_stack: Stack, client: Client, fake_clock: FakeClock
) -> None:
    source, destination = await funded_wallet(client, "1000.00"), await funded_wallet(client, "0")
    await set_policy(clocked_stack, daily=100 * DOLLAR)
    results: list[Any] = []

    async def one(i: int) -> None:
        results.append(await transfer(client, source, destination, "10.00", idempotency_key=f"race-{i:04d}"))

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(one, i)

    refused = [body(r) for r in results if r.is_error]
    assert len(results) - len(refused) == 10
    assert len(refused) == 10
    day_later = (fake_clock.now() + timedelta(hours=24)).isoformat()
    for error in refused:
        assert error["code"] == "limit_exceeded"
        assert error["details"]["limit"] == "daily"
        assert (error["details"]["remaining"], error["details"]["limit_value"]) == ("0.00", "100.00")
        assert error["details"]["resets_at"] == day_later
        assert error["details"]["idempotency_key_reusable"] is True
    assert (await ok(client, "get_wallet", wallet_id=destination))["posted"]["amount"] == "100.00"
    assert await spend_rows(clocked_stack) == 10


async def test_a_deduplicated_replay_does_not_count_twice(clocked_stack: Stack, client: Client) -> None:
    source, destination = await funded_wallet(client, "100.00"), await funded_wallet(client, "0")
    await set_policy(clocked_stack, daily=20 * DOLLAR)

    first = await transfer(client, source, destination, "10.00", idempotency_key="pay-rent-1")
    replay = await transfer(client, source, destination, "10.00", idempotency_key="pay-rent-1")
    blind = await transfer(client, source, destination, "10.00")  # no key: the server derives one
    blind_again = await transfer(client, source, destination, "10.00")

    assert not first.is_error
    assert replay.structured_content["deduplicated"] is True
    assert not blind.is_error
    assert blind_again.structured_content["deduplicated"] is True
    assert await spend_rows(clocked_stack) == 2
    over = await transfer(client, source, destination, "0.01", idempotency_key="one-cent-more")
    assert body(over)["code"] == "limit_exceeded"


async def test_a_call_over_the_per_call_limit_is_refused_and_writes_nothing(
    clocked_stack: Stack, client: Client
) -> None:
    source, destination = await funded_wallet(client, "100.00"), await funded_wallet(client, "0")
    await set_policy(clocked_stack, max_per_call=50 * DOLLAR)

    refused = await err(
        client,
        "transfer_funds",
        source_wallet_id=source,
        destination_wallet_id=destination,
        currency="USD",
        amount="50.01",
    )

    assert refused["code"] == "limit_exceeded"
    assert refused["details"]["limit"] == "max_per_call"
    assert refused["details"]["resets_at"] is None
    assert "50.01 USD would exceed your per-call spend limit of 50.00 USD" in refused["message"]
    assert await spend_rows(clocked_stack) == 0
    assert (await ok(client, "get_wallet", wallet_id=destination))["posted"]["amount"] == "0.00"
    await ok(
        client,
        "transfer_funds",
        source_wallet_id=source,
        destination_wallet_id=destination,
        currency="USD",
        amount="50.00",
    )


async def test_the_rolling_day_frees_up_exactly_when_the_oldest_spend_leaves_it(
    clocked_stack: Stack, client: Client, fake_clock: FakeClock
) -> None:
    source, destination = await funded_wallet(client, "100.00"), await funded_wallet(client, "0")
    await set_policy(clocked_stack, daily=30 * DOLLAR, monthly=40 * DOLLAR)
    first_at = fake_clock.now()
    await transfer(client, source, destination, "20.00")
    fake_clock.advance(hours=6)
    await transfer(client, source, destination, "10.00")

    refused = body(await transfer(client, source, destination, "15.00"))
    assert refused["details"]["limit"] == "daily"
    assert refused["details"]["resets_at"] == (first_at + timedelta(hours=24)).isoformat()

    fake_clock.advance(hours=18)  # the first 20.00 has just left the window
    assert not (await transfer(client, source, destination, "10.00")).is_error
    monthly = body(await transfer(client, source, destination, "0.01"))
    assert (monthly["details"]["limit"], monthly["details"]["remaining"]) == ("monthly", "0.00")
    assert monthly["details"]["resets_at"] == (first_at + timedelta(days=30)).isoformat()


async def test_a_role_default_applies_unless_the_principal_has_its_own_policy(
    clocked_stack: Stack, client: Client
) -> None:
    source, destination = await funded_wallet(client, "100.00"), await funded_wallet(client, "0")
    await set_policy(clocked_stack, role_subject(Role.AGENT), max_per_call=5 * DOLLAR)
    assert body(await transfer(client, source, destination, "6.00"))["details"]["limit"] == "max_per_call"

    await set_policy(clocked_stack, max_per_call=10 * DOLLAR)
    assert not (await transfer(client, source, destination, "6.00")).is_error
    whoami = await ok(client, "whoami")
    (budget,) = whoami["spending"]
    assert budget["applies_as"] == "own"
    assert budget["policy"]["max_per_call"]["amount"] == "10.00"


async def test_payee_lists_refuse_with_payee_not_allowed(clocked_stack: Stack, client: Client) -> None:
    source, allowed, other = (
        await funded_wallet(client, "100.00"),
        await funded_wallet(client, "0"),
        await funded_wallet(client, "0"),
    )
    await set_policy(clocked_stack, allowed_payees=frozenset({allowed}))

    assert not (await transfer(client, source, allowed, "1.00")).is_error
    refused = body(await transfer(client, source, other, "1.00"))
    assert (refused["code"], refused["details"]["payee"]) == ("payee_not_allowed", other)
    withdrawal = await err(client, "withdraw_from_wallet", wallet_id=source, currency="USD", amount="1.00")
    assert (withdrawal["code"], withdrawal["details"]["payee"]) == ("payee_not_allowed", "external")

    await set_policy(clocked_stack, denied_payees=frozenset({allowed}))
    denied = body(await transfer(client, source, allowed, "1.00", idempotency_key="after-the-change"))
    assert (denied["code"], denied["details"]["reason"]) == ("payee_not_allowed", "denied")
    assert not (await transfer(client, source, other, "1.00", idempotency_key="after-the-change-2")).is_error


async def test_velocity_counts_calls_per_minute(clocked_stack: Stack, client: Client, fake_clock: FakeClock) -> None:
    source, destination = await funded_wallet(client, "100.00"), await funded_wallet(client, "0")
    await set_policy(clocked_stack, velocity=2)
    started = fake_clock.now()
    for _ in range(2):
        assert not (await transfer(client, source, destination, "1.00", idempotency_key=f"v-{_}-xxxx")).is_error
        fake_clock.advance(seconds=10)

    refused = body(await transfer(client, source, destination, "1.00"))
    assert (refused["details"]["limit"], refused["details"]["remaining"]) == ("velocity", 0)
    assert refused["details"]["resets_at"] == (started + timedelta(minutes=1)).isoformat()
    fake_clock.advance(seconds=41)
    assert not (await transfer(client, source, destination, "1.00")).is_error


async def test_an_expired_policy_refuses_every_counted_call_but_not_top_ups(
    clocked_stack: Stack, client: Client, fake_clock: FakeClock
) -> None:
    source, destination = await funded_wallet(client, "100.00"), await funded_wallet(client, "0")
    await set_policy(clocked_stack, daily=50 * DOLLAR, expires_at=fake_clock.now() + timedelta(days=1))
    assert not (await transfer(client, source, destination, "1.00")).is_error
    fake_clock.advance(days=1)

    refused = body(await transfer(client, source, destination, "1.00"))
    assert refused["details"]["limit"] == "policy_expired"
    await ok(client, "fund_wallet", wallet_id=source, currency="USD", amount="5.00")


async def test_a_spend_above_the_approval_threshold_waits_for_approval_and_one_at_it_runs(
    clocked_stack: Stack, client: Client
) -> None:
    source, destination = await funded_wallet(client, "100.00"), await funded_wallet(client, "0")
    await set_policy(clocked_stack, approval_above=50 * DOLLAR)

    held = await transfer(client, source, destination, "50.01")

    assert (held.is_error, held.structured_content["status"]) == (False, "pending_approval")
    assert not (await transfer(client, source, destination, "50.00")).is_error
    assert (await ok(client, "get_wallet", wallet_id=destination))["posted"]["amount"] == "50.00"


async def test_a_captured_hold_counts_its_whole_amount_when_none_is_given(clocked_stack: Stack, client: Client) -> None:
    source = await funded_wallet(client, "100.00")
    held = await ok(client, "hold_funds", wallet_id=source, currency="USD", amount="30.00")
    await set_policy(clocked_stack, daily=20 * DOLLAR)

    refused = await err(client, "capture_hold", hold_id=held["hold"]["id"])
    assert (refused["code"], refused["details"]["requested"]) == ("limit_exceeded", "30.00")
    await ok(client, "capture_hold", hold_id=held["hold"]["id"], amount="20.00")


async def test_refunds_count_against_their_own_caps(clocked_stack: Stack, client: Client) -> None:
    payment = await ok(client, "create_payment", currency="USD", amount="80.00", payment_method="pm_card_visa")
    await set_policy(clocked_stack, daily=10 * DOLLAR, refund_daily=50 * DOLLAR)
    payment_id = payment["payment"]["id"]

    await ok(client, "refund_payment", payment_id=payment_id, amount="40.00")
    refused = await err(client, "refund_payment", payment_id=payment_id)  # all that is left: 40.00

    assert (refused["details"]["limit"], refused["details"]["remaining"]) == ("refund_daily", "10.00")
    charge = await err(client, "create_payment", currency="USD", amount="10.01", payment_method="pm_card_visa")
    assert charge["details"]["limit"] == "daily"
