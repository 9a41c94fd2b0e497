from datetime import timedelta

import pytest

from mcp_payments.bootstrap import sweep_once
from mcp_payments.domain.errors import (
    CaptureExceedsHold,
    HoldExpired,
    HoldNotActive,
    HoldNotFound,
    InsufficientFunds,
    WalletNotFound,
)
from mcp_payments.domain.ledger import HoldStatus
from mcp_payments.services.container import Services
from tests.conftest import FakeClock
from tests.services.wallet_calls import (
    assert_ledger_sound,
    balances,
    capture,
    create_wallet,
    funded_wallet,
    hold,
    release,
    stored_hold,
    wallet,
    withdraw,
)

pytestmark = pytest.mark.anyio


async def test_a_hold_makes_money_unavailable_without_moving_it(services: Services) -> None:
    wallet_id = await funded_wallet(services, "10.00")

    await hold(services, wallet_id, "4.00")

    account = await wallet(services, wallet_id)
    assert (account.posted, account.pending, account.available) == (1000, 400, 600)
    await assert_ledger_sound(services)


async def test_held_money_cannot_be_withdrawn(services: Services) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    await hold(services, wallet_id, "4.00")

    with pytest.raises(InsufficientFunds, match=r"6\.00 USD available"):
        await withdraw(services, wallet_id, "6.01")


async def test_a_hold_beyond_the_available_balance_is_refused(services: Services) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    await hold(services, wallet_id, "7.00")

    with pytest.raises(InsufficientFunds):
        await hold(services, wallet_id, "3.01")


async def test_a_hold_on_a_missing_wallet_is_wallet_not_found(services: Services) -> None:
    with pytest.raises(WalletNotFound):
        await hold(services, "wal_missing", "1.00")


async def test_a_hold_lasts_seven_days_unless_told_otherwise(services: Services, fake_clock: FakeClock) -> None:
    wallet_id = await funded_wallet(services, "10.00")

    default = await stored_hold(services, await hold(services, wallet_id, "1.00"))
    short = await stored_hold(services, await hold(services, wallet_id, "1.00", expires_in=timedelta(minutes=5)))

    assert default.expires_at == fake_clock.now() + timedelta(days=7)
    assert short.expires_at == fake_clock.now() + timedelta(minutes=5)


async def test_capturing_a_hold_pays_out_the_whole_amount(services: Services) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    hold_id = await hold(services, wallet_id, "4.00")

    outcome = await capture(services, hold_id)

    account = await wallet(services, wallet_id)
    assert (account.posted, account.pending) == (600, 0)
    captured = await stored_hold(services, hold_id)
    assert (captured.status, captured.captured_amount) == (HoldStatus.CAPTURED, 400)
    assert captured.capture_transaction_id == outcome.response["transaction_id"]
    assert (await balances(services))["acc_external_USD"] == (-600, 0)
    await assert_ledger_sound(services)


async def test_capturing_part_of_a_hold_into_a_wallet_releases_the_rest(services: Services) -> None:
    source = await funded_wallet(services, "10.00")
    target = await create_wallet(services)
    hold_id = await hold(services, source, "4.00")

    await capture(services, hold_id, "1.50", destination=target)

    account = await wallet(services, source)
    assert (account.posted, account.pending, account.available) == (850, 0, 850)
    assert (await wallet(services, target)).posted == 150
    assert (await stored_hold(services, hold_id)).captured_amount == 150
    await assert_ledger_sound(services)


async def test_capturing_more_than_was_held_is_refused_and_keeps_the_hold(services: Services) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    hold_id = await hold(services, wallet_id, "4.00")

    with pytest.raises(CaptureExceedsHold):
        await capture(services, hold_id, "4.01")

    assert (await stored_hold(services, hold_id)).status is HoldStatus.ACTIVE
    assert (await wallet(services, wallet_id)).pending == 400


async def test_releasing_a_hold_makes_its_money_available_again(services: Services) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    hold_id = await hold(services, wallet_id, "4.00")

    await release(services, hold_id)

    account = await wallet(services, wallet_id)
    assert (account.posted, account.pending) == (1000, 0)
    assert (await stored_hold(services, hold_id)).status is HoldStatus.RELEASED
    await assert_ledger_sound(services)


async def test_an_unknown_hold_is_hold_not_found(services: Services) -> None:
    with pytest.raises(HoldNotFound):
        await capture(services, "hld_missing")
    with pytest.raises(HoldNotFound):
        await release(services, "hld_missing")


async def test_a_hold_resolves_only_once(services: Services) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    captured = await hold(services, wallet_id, "1.00")
    released = await hold(services, wallet_id, "1.00")
    await capture(services, captured)
    await release(services, released)

    for hold_id in (captured, released):
        with pytest.raises(HoldNotActive):
            await capture(services, hold_id)
        with pytest.raises(HoldNotActive):
            await release(services, hold_id)

    assert (await wallet(services, wallet_id)).posted == 900


async def test_the_sweeper_releases_an_expired_hold(services: Services, fake_clock: FakeClock) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    hold_id = await hold(services, wallet_id, "4.00", expires_in=timedelta(hours=1))

    fake_clock.advance(hours=1)
    handled = await sweep_once(services)

    assert handled >= 1
    expired = await stored_hold(services, hold_id)
    assert (expired.status, expired.resolved_at) == (HoldStatus.EXPIRED, fake_clock.now())
    account = await wallet(services, wallet_id)
    assert (account.posted, account.pending, account.available) == (1000, 0, 1000)
    await assert_ledger_sound(services)


async def test_the_sweeper_leaves_unexpired_and_resolved_holds_alone(services: Services, fake_clock: FakeClock) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    later = await hold(services, wallet_id, "1.00", expires_in=timedelta(hours=2))
    captured = await hold(services, wallet_id, "1.00", expires_in=timedelta(hours=1))
    await capture(services, captured)

    fake_clock.advance(hours=1, minutes=30)
    await sweep_once(services)

    assert (await stored_hold(services, later)).status is HoldStatus.ACTIVE
    assert (await stored_hold(services, captured)).status is HoldStatus.CAPTURED
    assert (await wallet(services, wallet_id)).pending == 100


async def test_an_expired_hold_cannot_be_captured_even_before_the_sweeper_runs(
    services: Services, fake_clock: FakeClock
) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    hold_id = await hold(services, wallet_id, "4.00", expires_in=timedelta(hours=1))

    fake_clock.advance(hours=1)

    with pytest.raises(HoldExpired):
        await capture(services, hold_id)
    with pytest.raises(HoldExpired):
        await release(services, hold_id)
    assert (await wallet(services, wallet_id)).posted == 1000


async def test_an_expired_and_swept_hold_cannot_be_captured(services: Services, fake_clock: FakeClock) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    hold_id = await hold(services, wallet_id, "4.00", expires_in=timedelta(hours=1))
    fake_clock.advance(hours=1)
    await sweep_once(services)

    with pytest.raises(HoldNotActive, match="already expired"):
        await capture(services, hold_id)


async def test_sweeping_twice_expires_a_hold_once(services: Services, fake_clock: FakeClock) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    await hold(services, wallet_id, "4.00", expires_in=timedelta(hours=1))
    fake_clock.advance(hours=1)

    await sweep_once(services)
    await sweep_once(services)

    assert (await wallet(services, wallet_id)).pending == 0
    await assert_ledger_sound(services)
