"""DESIGN §7 invariant 7: a rejected operation leaves no ledger effect and no half-written rows."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from mcp_payments.domain import errors
from mcp_payments.domain.errors import DomainError
from mcp_payments.services.container import Services
from tests.conftest import FakeClock
from tests.services import wallet_calls as calls
from tests.services.wallet_calls import assert_ledger_sound, balances, row_counts

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"fx_rates": {"EUR/USD": Decimal("1.08")}}


@dataclass
class World:
    """Wallets with history, a live hold and a resolved one: something for every rejection to leave alone."""

    services: Services
    clock: FakeClock
    usd: str
    usd_empty: str
    eur: str
    gbp: str
    hold: str
    released_hold: str
    short_hold: str


@pytest.fixture
async def world(services: Services, fake_clock: FakeClock) -> World:
    usd = await calls.funded_wallet(services, "10.00")
    usd_empty = await calls.create_wallet(services)
    eur = await calls.funded_wallet(services, "5.00", "EUR")
    gbp = await calls.funded_wallet(services, "5.00", "GBP")
    await calls.transfer(services, usd, usd_empty, "1.00")
    hold = await calls.hold(services, usd, "2.00")
    released = await calls.hold(services, usd, "1.00")
    await calls.release(services, released)
    short = await calls.hold(services, eur, "1.00", "EUR", expires_in=timedelta(minutes=5))
    await calls.withdraw(services, usd, "0.50", key="kept-key")
    return World(services, fake_clock, usd, usd_empty, eur, gbp, hold, released, short)


async def capture_after_expiry(w: World) -> object:
    w.clock.advance(minutes=5)
    return await calls.capture(w.services, w.short_hold)


Attempt = Callable[[World], Awaitable[object]]

REJECTIONS: dict[str, tuple[Attempt, type[DomainError]]] = {
    "withdrawing more than is available": (
        lambda w: calls.withdraw(w.services, w.usd, "6.51"),
        errors.InsufficientFunds,
    ),
    "withdrawing from an empty wallet": (
        lambda w: calls.withdraw(w.services, w.usd_empty, "1.01"),
        errors.InsufficientFunds,
    ),
    "withdrawing from a missing wallet": (
        lambda w: calls.withdraw(w.services, "wal_missing", "1.00"),
        errors.WalletNotFound,
    ),
    "withdrawing in another currency than the wallet's": (
        lambda w: calls.withdraw(w.services, w.usd, "100", "JPY"),
        errors.CurrencyMismatch,
    ),
    "funding a missing wallet": (
        lambda w: calls.fund(w.services, "wal_missing", "1.00"),
        errors.WalletNotFound,
    ),
    "funding in a currency no account has yet": (
        lambda w: calls.fund(w.services, w.usd, "100", "JPY"),
        errors.CurrencyMismatch,
    ),
    "transferring more than is available": (
        lambda w: calls.transfer(w.services, w.usd, w.usd_empty, "6.51"),
        errors.InsufficientFunds,
    ),
    # The same refusal with the wallets the other way round: whichever comes first in id order (the
    # order postings lock and move accounts in) is moved first, so one of the two is undone.
    "transferring more than is available, the other way round": (
        lambda w: calls.transfer(w.services, w.usd_empty, w.usd, "1.01"),
        errors.InsufficientFunds,
    ),
    "transferring to a missing wallet": (
        lambda w: calls.transfer(w.services, w.usd, "wal_missing", "1.00"),
        errors.WalletNotFound,
    ),
    "transferring from a missing wallet": (
        lambda w: calls.transfer(w.services, "wal_missing", w.usd, "1.00"),
        errors.WalletNotFound,
    ),
    "transferring to the same wallet": (
        lambda w: calls.transfer(w.services, w.usd, w.usd, "1.00"),
        errors.SameAccount,
    ),
    "transferring across currencies beyond the balance": (
        lambda w: calls.transfer(w.services, w.eur, w.usd, "5.01", "EUR"),
        errors.InsufficientFunds,
    ),
    "transferring across currencies without a rate": (
        lambda w: calls.transfer(w.services, w.usd, w.gbp, "1.00"),
        errors.FxRateUnavailable,
    ),
    "holding more than is available": (
        lambda w: calls.hold(w.services, w.usd, "6.51"),
        errors.InsufficientFunds,
    ),
    "capturing more than was held": (
        lambda w: calls.capture(w.services, w.hold, "2.01"),
        errors.CaptureExceedsHold,
    ),
    "capturing into a missing wallet": (
        lambda w: calls.capture(w.services, w.hold, destination="wal_missing"),
        errors.WalletNotFound,
    ),
    "capturing into a wallet of another currency": (
        lambda w: calls.capture(w.services, w.hold, destination=w.eur),
        errors.CurrencyMismatch,
    ),
    "capturing a released hold": (
        lambda w: calls.capture(w.services, w.released_hold),
        errors.HoldNotActive,
    ),
    "releasing a released hold": (
        lambda w: calls.release(w.services, w.released_hold),
        errors.HoldNotActive,
    ),
    "capturing a missing hold": (
        lambda w: calls.capture(w.services, "hld_missing"),
        errors.HoldNotFound,
    ),
    "capturing a hold past its expiry": (
        capture_after_expiry,
        errors.HoldExpired,
    ),
    "reusing a key with other arguments": (
        lambda w: calls.withdraw(w.services, w.usd, "0.60", key="kept-key"),
        errors.IdempotencyConflict,
    ),
    "opening a wallet in an unknown currency": (
        lambda w: calls.create_wallet(w.services, "ABC"),
        errors.UnknownCurrency,
    ),
}


@pytest.mark.parametrize("case", list(REJECTIONS))
async def test_a_rejected_operation_leaves_no_rows_and_no_ledger_effect(world: World, case: str) -> None:
    attempt, expected = REJECTIONS[case]
    rows, accounts = await row_counts(world.services), await balances(world.services)

    with pytest.raises(expected):
        await attempt(world)

    assert await row_counts(world.services) == rows
    assert await balances(world.services) == accounts
    await assert_ledger_sound(world.services)
