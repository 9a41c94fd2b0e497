from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial

import anyio
import pytest

from mcp_payments.bootstrap import sweep_once
from mcp_payments.domain.errors import IdempotencyConflict, InsufficientFunds
from mcp_payments.services.commands import Outcome
from mcp_payments.services.container import Services
from mcp_payments.services.ports import AuditRecord, StoredCall
from tests.conftest import FakeClock
from tests.services.wallet_calls import (
    assert_ledger_sound,
    create_wallet,
    fund,
    funded_wallet,
    row_counts,
    transfer,
    wallet,
    withdraw,
)

pytestmark = pytest.mark.anyio


async def test_the_same_key_with_the_same_arguments_returns_the_first_result_without_a_second_effect(
    services: Services,
) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    first = await withdraw(services, wallet_id, "1.00", key="withdraw-1")
    counts = await row_counts(services)

    again = await withdraw(services, wallet_id, "1.00", key="withdraw-1")

    assert (first.deduplicated, again.deduplicated) == (False, True)
    assert again.response == first.response
    assert (await wallet(services, wallet_id)).posted == 900
    assert await row_counts(services) == counts, "a replay writes nothing, not even an audit record"


async def test_a_replay_returns_the_stored_result_even_after_the_state_has_moved_on(services: Services) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    first = await withdraw(services, wallet_id, "1.00", key="withdraw-1")
    await withdraw(services, wallet_id, "4.00")

    again = await withdraw(services, wallet_id, "1.00", key="withdraw-1")

    assert again.response == first.response
    assert again.response["posted"] == {wallet_id: 900}


async def test_the_same_key_with_different_arguments_is_a_conflict_naming_the_differing_fields(
    services: Services,
) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    await withdraw(services, wallet_id, "1.00", key="withdraw-1")

    with pytest.raises(IdempotencyConflict) as raised:
        await withdraw(services, wallet_id, "2.00", key="withdraw-1")

    assert raised.value.details == {"differing_fields": ["amount"], "first_tool": "withdraw_from_wallet"}
    assert "differing: amount" in raised.value.message
    assert (await wallet(services, wallet_id)).posted == 900


async def test_a_conflict_names_every_differing_field(services: Services) -> None:
    wallet_id = await funded_wallet(services, "10.00", "EUR")
    await withdraw(services, wallet_id, "1.00", "EUR", key="withdraw-1")
    other = await funded_wallet(services, "10.00")

    with pytest.raises(IdempotencyConflict) as raised:
        await withdraw(services, other, "2.00", "USD", key="withdraw-1")

    assert raised.value.details["differing_fields"] == ["amount", "currency", "wallet_id"]


async def test_the_same_key_on_another_tool_is_a_conflict_naming_the_tool(services: Services) -> None:
    a = await funded_wallet(services, "10.00")
    b = await create_wallet(services)
    await withdraw(services, a, "1.00", key="shared-key")

    with pytest.raises(IdempotencyConflict) as raised:
        await transfer(services, a, b, "1.00", key="shared-key")

    assert raised.value.details["differing_fields"][0] == "tool"
    assert raised.value.details["first_tool"] == "withdraw_from_wallet"
    assert (await wallet(services, b)).posted == 0


async def test_keys_belong_to_their_principal(services: Services) -> None:
    wallet_id = await funded_wallet(services, "10.00")

    first = await withdraw(services, wallet_id, "1.00", key="withdraw-1", principal="alice")
    second = await withdraw(services, wallet_id, "1.00", key="withdraw-1", principal="bob")

    assert not first.deduplicated
    assert not second.deduplicated
    assert (await wallet(services, wallet_id)).posted == 800


async def test_a_failed_call_does_not_keep_its_key_so_a_retry_can_succeed(services: Services) -> None:
    wallet_id = await create_wallet(services)
    with pytest.raises(InsufficientFunds):
        await withdraw(services, wallet_id, "1.00", key="withdraw-1")
    await fund(services, wallet_id, "5.00")

    retried = await withdraw(services, wallet_id, "1.00", key="withdraw-1")

    assert not retried.deduplicated
    assert (await wallet(services, wallet_id)).posted == 400


async def test_a_key_is_kept_for_24_hours(services: Services, fake_clock: FakeClock) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    await withdraw(services, wallet_id, "1.00", key="withdraw-1")

    fake_clock.advance(hours=23, minutes=59)
    assert (await withdraw(services, wallet_id, "1.00", key="withdraw-1")).deduplicated
    fake_clock.advance(minutes=1)
    assert not (await withdraw(services, wallet_id, "1.00", key="withdraw-1")).deduplicated

    assert (await wallet(services, wallet_id)).posted == 800


async def test_without_a_key_an_identical_call_within_the_window_is_deduplicated(
    services: Services, fake_clock: FakeClock
) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    first = await withdraw(services, wallet_id, "1.00", key=None)

    fake_clock.advance(seconds=59)
    again = await withdraw(services, wallet_id, "1.00", key=None)

    assert (first.deduplicated, again.deduplicated) == (False, True)
    assert again.response == first.response
    assert (await wallet(services, wallet_id)).posted == 900


async def test_without_a_key_an_identical_call_after_the_window_runs_again(
    services: Services, fake_clock: FakeClock
) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    await withdraw(services, wallet_id, "1.00", key=None)

    fake_clock.advance(seconds=60)
    again = await withdraw(services, wallet_id, "1.00", key=None)

    assert not again.deduplicated
    assert (await wallet(services, wallet_id)).posted == 800


async def test_without_a_key_calls_with_different_arguments_both_run(services: Services) -> None:
    wallet_id = await funded_wallet(services, "10.00")

    await withdraw(services, wallet_id, "1.00", key=None)
    second = await withdraw(services, wallet_id, "2.00", key=None)

    assert not second.deduplicated
    assert (await wallet(services, wallet_id)).posted == 700


async def test_the_sweeper_purges_expired_keys(services: Services, fake_clock: FakeClock) -> None:
    wallet_id = await funded_wallet(services, "10.00")
    await withdraw(services, wallet_id, "1.00", key=None)
    keys = (await row_counts(services))["idempotency_keys"]

    fake_clock.advance(seconds=61)
    purged = await sweep_once(services)

    assert purged == 1
    assert (await row_counts(services))["idempotency_keys"] == keys - 1


async def run_concurrently(n: int, call: Callable[[], Awaitable[Outcome]]) -> list[Outcome]:
    outcomes: list[Outcome] = []

    async def one() -> None:
        outcomes.append(await call())

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(one)
    return outcomes


async def test_concurrent_calls_with_one_key_have_exactly_one_effect(services: Services) -> None:
    wallet_id = await funded_wallet(services, "100.00")

    outcomes = await run_concurrently(20, partial(withdraw, services, wallet_id, "1.00", key="withdraw-once"))

    assert sorted(o.deduplicated for o in outcomes) == [False] + [True] * 19
    assert len({o.response["transaction_id"] for o in outcomes}) == 1
    assert (await wallet(services, wallet_id)).posted == 9900
    await assert_ledger_sound(services)


async def test_concurrent_identical_calls_without_a_key_have_exactly_one_effect(services: Services) -> None:
    wallet_id = await funded_wallet(services, "100.00")

    outcomes = await run_concurrently(20, partial(withdraw, services, wallet_id, "1.00", key=None))

    assert sorted(o.deduplicated for o in outcomes) == [False] + [True] * 19
    assert (await wallet(services, wallet_id)).posted == 9900


async def test_concurrent_retries_after_the_window_have_exactly_one_more_effect(
    services: Services, fake_clock: FakeClock
) -> None:
    wallet_id = await funded_wallet(services, "100.00")
    await withdraw(services, wallet_id, "1.00", key=None)
    fake_clock.advance(seconds=61)

    outcomes = await run_concurrently(20, partial(withdraw, services, wallet_id, "1.00", key=None))

    assert sorted(o.deduplicated for o in outcomes) == [False] + [True] * 19
    assert (await wallet(services, wallet_id)).posted == 9800
    await assert_ledger_sound(services)


async def test_concurrent_retries_of_an_expired_key_have_exactly_one_more_effect(
    services: Services, fake_clock: FakeClock
) -> None:
    wallet_id = await funded_wallet(services, "100.00")
    await withdraw(services, wallet_id, "1.00", key="daily-payout")
    fake_clock.advance(hours=25)

    outcomes = await run_concurrently(20, partial(withdraw, services, wallet_id, "1.00", key="daily-payout"))

    assert sorted(o.deduplicated for o in outcomes) == [False] + [True] * 19
    assert (await wallet(services, wallet_id)).posted == 9800


# The repository below CallRunner: on PostgreSQL the completion is sent with the COMMIT (PgDriver.defer), on SQLite
# the key's row is written only by the completion; both must read as if each statement ran when it was called.


def _call(response: dict[str, object] | None = None) -> StoredCall:
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    return StoredCall("withdraw_from_wallet", "h" * 64, {"amount": "1.00"}, response or {}, expires)


def _record(record_id: str) -> AuditRecord:
    body = {"id": record_id, "at": datetime(2029, 1, 1, tzinfo=UTC).isoformat(), "principal": "p", "tool": "t"}
    return AuditRecord(record_id, body)


async def _claim_and_complete(services: Services, key: str, *, commit: bool) -> StoredCall | None:
    """Claim `key`, complete it, then claim it again in the same transaction: what that second claim finds."""
    now = datetime(2029, 1, 1, tzinfo=UTC)
    async with services.uow(begin=False) as uow:
        assert await uow.idempotency.claim("p", key, _call(), now, begin=True) is None
        await uow.idempotency.complete("p", key, {"paid": 1}, _record(f"aud_{key.upper():0>26}"))
        again = await uow.idempotency.claim("p", key, _call(), now)
        if commit:
            await uow.commit()
    return again


async def test_a_completed_key_reads_back_as_held_with_its_answer_inside_its_own_transaction(
    services: Services,
) -> None:
    held = await _claim_and_complete(services, "kept", commit=True)

    assert held is not None
    assert held.response == {"paid": 1}
    async with services.uow(begin=False) as uow:
        stored = await uow.idempotency.claim("p", "kept", _call(), datetime(2029, 1, 1, tzinfo=UTC), begin=True)
    assert stored is not None
    assert stored.response == {"paid": 1}


async def test_a_completion_rolled_back_leaves_the_key_free_and_no_audit_record(services: Services) -> None:
    await _claim_and_complete(services, "dropped", commit=False)

    async with services.uow(begin=False) as uow:
        now = datetime(2029, 1, 1, tzinfo=UTC)
        assert await uow.idempotency.claim("p", "dropped", _call(), now, begin=True) is None
        assert await uow.audit.by_ids(["aud_" + "DROPPED".rjust(26, "0")]) == {}
