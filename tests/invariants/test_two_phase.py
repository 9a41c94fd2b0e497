"""DESIGN §7 invariant 5: capture <= held, the remainder is released, a hold resolves once, expiry releases."""

from datetime import timedelta
from functools import partial

import anyio
import pytest

from mcp_payments.bootstrap import sweep_once
from mcp_payments.domain.errors import CaptureExceedsHold, DomainError, HoldExpired, HoldNotActive
from mcp_payments.domain.ledger import HoldStatus
from mcp_payments.services.container import Services
from tests.conftest import FakeClock
from tests.services.wallet_calls import (
    assert_ledger_sound,
    capture,
    create_wallet,
    funded_wallet,
    hold,
    release,
    stored_hold,
    wallet,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(("captured", "minor"), [("0.01", 1), ("2.50", 250), ("3.99", 399), ("4.00", 400)])
async def test_a_capture_up_to_the_held_amount_moves_it_and_releases_the_rest(
    services: Services, captured: str, minor: int
) -> None:
    source = await funded_wallet(services, "10.00")
    target = await create_wallet(services)
    hold_id = await hold(services, source, "4.00")

    await capture(services, hold_id, captured, destination=target)

    account = await wallet(services, source)
    assert (account.posted, account.pending, account.available) == (1000 - minor, 0, 1000 - minor)
    assert (await wallet(services, target)).posted == minor
    assert (await stored_hold(services, hold_id)).captured_amount == minor
    await assert_ledger_sound(services)


async def test_a_capture_above_the_held_amount_is_refused_even_when_the_wallet_could_pay(services: Services) -> None:
    source = await funded_wallet(services, "10.00")
    hold_id = await hold(services, source, "4.00")

    with pytest.raises(CaptureExceedsHold):
        await capture(services, hold_id, "4.01")

    assert (await wallet(services, source)).pending == 400
    await assert_ledger_sound(services)


@pytest.mark.parametrize("first", ["capture", "release", "expire"])
@pytest.mark.parametrize("second", ["capture", "release"])
async def test_a_second_resolution_of_a_hold_fails_and_changes_nothing(
    services: Services, fake_clock: FakeClock, first: str, second: str
) -> None:
    source = await funded_wallet(services, "10.00")
    hold_id = await hold(services, source, "4.00", expires_in=timedelta(hours=1))
    match first:
        case "capture":
            await capture(services, hold_id, "1.00")
        case "release":
            await release(services, hold_id)
        case "expire":
            fake_clock.advance(hours=1)
            await sweep_once(services)
    after_first = await wallet(services, source)

    with pytest.raises(HoldNotActive):
        await (capture(services, hold_id) if second == "capture" else release(services, hold_id))

    assert await wallet(services, source) == after_first
    await assert_ledger_sound(services)


async def test_concurrent_resolutions_of_one_hold_resolve_it_exactly_once(services: Services) -> None:
    source = await funded_wallet(services, "10.00")
    hold_id = await hold(services, source, "4.00")
    attempts = [partial(capture, services, hold_id, "3.00") for _ in range(10)]
    attempts += [partial(release, services, hold_id) for _ in range(10)]
    succeeded: list[str] = []
    refused: list[DomainError] = []

    async def one(index: int) -> None:
        try:
            await attempts[index]()
        except DomainError as error:
            refused.append(error)
        else:
            succeeded.append("capture" if index < 10 else "release")

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for index in range(len(attempts)):
                tg.start_soon(one, index)

    assert len(succeeded) == 1
    assert len(refused) == 19
    assert all(isinstance(error, HoldNotActive) for error in refused)
    account = await wallet(services, source)
    assert account.pending == 0
    assert account.posted == (700 if succeeded == ["capture"] else 1000)
    await assert_ledger_sound(services)


async def test_expiry_releases_the_whole_hold_and_only_once_it_is_due(
    services: Services, fake_clock: FakeClock
) -> None:
    source = await funded_wallet(services, "10.00")
    hold_id = await hold(services, source, "4.00", expires_in=timedelta(hours=1))

    fake_clock.advance(minutes=59, seconds=59)
    await sweep_once(services)
    assert (await stored_hold(services, hold_id)).status is HoldStatus.ACTIVE

    fake_clock.advance(seconds=1)
    await sweep_once(services)
    assert (await stored_hold(services, hold_id)).status is HoldStatus.EXPIRED
    account = await wallet(services, source)
    assert (account.posted, account.pending, account.available) == (1000, 0, 1000)
    await assert_ledger_sound(services)


async def test_an_expired_hold_cannot_be_captured_before_or_after_the_sweep(
    services: Services, fake_clock: FakeClock
) -> None:
    source = await funded_wallet(services, "10.00")
    hold_id = await hold(services, source, "4.00", expires_in=timedelta(hours=1))
    fake_clock.advance(hours=1)

    with pytest.raises(HoldExpired):
        await capture(services, hold_id)
    await sweep_once(services)
    with pytest.raises(HoldNotActive):
        await capture(services, hold_id)

    assert (await wallet(services, source)).posted == 1000


async def test_concurrent_sweeps_expire_each_hold_once(services: Services, fake_clock: FakeClock) -> None:
    source = await funded_wallet(services, "10.00")
    for _ in range(5):
        await hold(services, source, "1.00", expires_in=timedelta(hours=1))
    fake_clock.advance(hours=1)

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(sweep_once, services)

    account = await wallet(services, source)
    assert (account.posted, account.pending) == (1000, 0)
    await assert_ledger_sound(services)
