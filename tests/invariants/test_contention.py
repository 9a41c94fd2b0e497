"""DESIGN §7 invariants 1-3 under concurrency: exact debits, no overdraft, conservation, no deadlock."""

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import anyio
import pytest

from mcp_payments.domain.errors import DomainError, InsufficientFunds
from mcp_payments.services.commands import Outcome
from mcp_payments.services.container import Services
from mcp_payments.services.wallets import WalletService
from tests.services.wallet_calls import (
    assert_ledger_sound,
    balances,
    create_wallet,
    funded_wallet,
    hold,
    transfer,
    wallet,
    withdraw,
)

pytestmark = pytest.mark.anyio

DEADLINE = 120  # seconds; a deadlock would hold the test here instead of forever


async def race(calls: list[Callable[[], Awaitable[Any]]]) -> tuple[int, list[DomainError]]:
    """Start every call at once; count successes and collect domain errors (anything else fails the test)."""
    succeeded = 0
    refused: list[DomainError] = []

    async def one(call: Callable[[], Awaitable[Any]]) -> None:
        nonlocal succeeded
        try:
            await call()
        except DomainError as error:
            refused.append(error)
        else:
            succeeded += 1

    with anyio.fail_after(DEADLINE):
        async with anyio.create_task_group() as tg:
            for call in calls:
                tg.start_soon(one, call)
    return succeeded, refused


async def running_balances(services: Services, wallet_id: str) -> list[int]:
    """The wallet's balance after each of its entries, oldest first."""
    lines: list[int] = []
    cursor: str | None = None
    while True:
        _, page = await services.calls.read(
            lambda uow: services.get(WalletService).statement(uow, wallet_id, cursor, 100)
        )
        lines += [line.balance_after for line in page.items]
        if (cursor := page.next_cursor) is None:
            return lines[::-1]


def debit(services: Services, kind: str, source: str, target: str) -> Callable[[], Awaitable[Outcome | str]]:
    async def call() -> Outcome | str:
        match kind:
            case "withdraw":
                return await withdraw(services, source, "0.30")
            case "transfer":
                return await transfer(services, source, target, "0.30")
            case "hold":
                return await hold(services, source, "0.30")
        raise AssertionError(kind)

    return call


@pytest.mark.parametrize("kind", ["withdraw", "transfer", "hold"])
async def test_concurrent_debits_succeed_exactly_as_often_as_the_balance_allows(services: Services, kind: str) -> None:
    source = await funded_wallet(services, "10.00")
    target = await create_wallet(services)

    succeeded, refused = await race([debit(services, kind, source, target) for _ in range(60)])

    assert succeeded == 1000 // 30 == 33
    assert len(refused) == 27
    assert all(isinstance(error, InsufficientFunds) for error in refused), {type(e) for e in refused}
    account = await wallet(services, source)
    assert account.available == 1000 - 33 * 30 == 10
    assert min(await running_balances(services, source)) >= 0
    await assert_ledger_sound(services)


async def test_mixed_concurrent_debits_of_one_wallet_never_take_more_than_it_holds(services: Services) -> None:
    source = await funded_wallet(services, "10.00")
    target = await create_wallet(services)
    calls = [debit(services, kind, source, target) for kind in ("withdraw", "transfer", "hold") for _ in range(20)]

    succeeded, refused = await race(calls)

    assert succeeded == 33
    assert all(isinstance(error, InsufficientFunds) for error in refused)
    account = await wallet(services, source)
    assert (account.available, account.posted - account.pending) == (10, 10)
    assert min(await running_balances(services, source)) >= 0
    await assert_ledger_sound(services)


async def test_money_is_conserved_under_concurrent_debits(services: Services) -> None:
    source = await funded_wallet(services, "10.00")
    target = await create_wallet(services)
    calls = [debit(services, kind, source, target) for kind in ("withdraw", "transfer") for _ in range(30)]

    await race(calls)

    accounts = await balances(services)
    assert sum(posted for posted, _ in accounts.values()) == 0
    paid_out = accounts["acc_external_USD"][0] + 1000  # funding took 10.00 from the outside world
    assert accounts[source][0] + accounts[target][0] + paid_out == 1000
    await assert_ledger_sound(services)


async def test_crossing_transfers_between_wallets_neither_deadlock_nor_lose_updates(services: Services) -> None:
    wallets = [await funded_wallet(services, "10.00") for _ in range(3)]
    pairs = [(a, b) for a in wallets for b in wallets if a != b]
    calls = [partial(transfer, services, a, b, "0.10") for _ in range(10) for a, b in pairs]

    succeeded, refused = await race(calls)

    assert (succeeded, refused) == (60, [])
    for wallet_id in wallets:
        assert (await wallet(services, wallet_id)).posted == 1000
    await assert_ledger_sound(services)


async def test_crossing_transfers_that_run_wallets_dry_conserve_money(services: Services) -> None:
    # Wallets near empty with traffic both ways: a posting that waited for a lock must judge the balance
    # it finds then, not the one of its snapshot (PostgreSQL once raised a CHECK violation here).
    a = await funded_wallet(services, "1.00")
    b = await funded_wallet(services, "1.00")

    for _ in range(3):
        calls = [partial(transfer, services, a, b, "0.30") for _ in range(40)]
        calls += [partial(transfer, services, b, a, "0.30") for _ in range(40)]
        succeeded, refused = await race(calls)

        assert all(isinstance(error, InsufficientFunds) for error in refused), {type(e) for e in refused}
        assert succeeded >= 6
        posted_a, posted_b = (await wallet(services, a)).posted, (await wallet(services, b)).posted
        assert posted_a + posted_b == 200
        assert min(posted_a, posted_b) >= 0

    assert min(await running_balances(services, a) + await running_balances(services, b)) >= 0
    await assert_ledger_sound(services)
