"""The job runner: failures are isolated per job and per item, a failing item is retried with backoff and parked
after its attempts, and every run and failure is recorded and shown by list_background_jobs (a real MCP
client) with no card number or secret in it."""

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
import structlog
from mcp.client import Client
from sqlalchemy import text

from mcp_payments.bootstrap import sweep_once
from mcp_payments.domain.errors import InvalidInput
from mcp_payments.domain.ledger import Hold, HoldStatus
from mcp_payments.services.container import Services
from mcp_payments.services.job_runner import JobRunner
from mcp_payments.services.jobs import AnyJob, Job
from mcp_payments.services.ports import Claim, UnitOfWork
from tests.conftest import TEST_SECRETS, FakeClock, Stack
from tests.helpers import ok
from tests.payments.card_scan import card_numbers_in, dump_database
from tests.services.wallet_calls import assert_ledger_sound, database, funded_wallet, hold, stored_hold, wallet

pytestmark = pytest.mark.anyio

CARD = "4242 4242 4242 4242"
SECRET = TEST_SECRETS["secret_key"]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"job_max_attempts": 3, "job_retry_base": timedelta(seconds=30), "job_retry_cap": timedelta(seconds=60)}


def replace_job(services: Services, name: str, **changes: Any) -> AnyJob:
    """Swap a job for a changed copy of itself, as a category could have declared it; returns the original."""
    [index] = [i for i, job in enumerate(services.jobs) if job.name == name]
    original = services.jobs[index]
    services.jobs[index] = replace(original, **changes)
    return original


def failing_for(
    item_id: str, handle: Callable[[UnitOfWork, Hold], Awaitable[list[str] | None]], error: Exception
) -> Callable[[UnitOfWork, Hold], Awaitable[list[str] | None]]:
    """`handle`, except that it fails for one hold, after it has written."""

    async def flaky(uow: UnitOfWork, item: Hold) -> list[str] | None:
        done = await handle(uow, item)
        if item.id == item_id:
            raise error
        return done

    return flaky


async def expiring_holds(services: Services, count: int) -> tuple[str, list[str]]:
    wallet_id = await funded_wallet(services, "100.00")
    return wallet_id, [await hold(services, wallet_id, "1.00", expires_in=timedelta(hours=1)) for _ in range(count)]


async def jobs_shown(stack: Stack) -> dict[str, dict[str, Any]]:
    async with Client(stack.server) as client:
        shown = await ok(client, "list_background_jobs")
    return {job["name"]: job for job in shown["jobs"]}


async def attempts_of(services: Services, job: str, item: str) -> int | None:
    async with database(services).reader.connect() as conn:
        found = await conn.execute(
            text("SELECT attempts FROM job_failures WHERE job = :job AND item_id = :item"), {"job": job, "item": item}
        )
        row = found.first()
    return None if row is None else int(row.attempts)


def clock_of(stack: Stack) -> FakeClock:
    assert stack.clock is not None
    return stack.clock


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_a_failing_item_is_retried_with_backoff_and_parked_while_the_others_are_done(
    clocked_stack: Stack,
) -> None:
    services, clock = clocked_stack.services, clock_of(clocked_stack)
    wallet_id, holds = await expiring_holds(services, 3)
    stuck = holds[1]
    real = replace_job(services, "expire_holds")
    error = InvalidInput(f"cannot release: card {CARD} under key {SECRET}")
    replace_job(services, "expire_holds", handle=failing_for(stuck, real.handle, error))

    clock.advance(hours=1, seconds=10)
    assert await sweep_once(services) == 2, "the holds before and after the failing one expire"
    assert [(await stored_hold(services, h)).status for h in holds] == [
        HoldStatus.EXPIRED,
        HoldStatus.ACTIVE,
        HoldStatus.EXPIRED,
    ]
    assert (await wallet(services, wallet_id)).pending == 100, "the failed release was rolled back"
    assert await attempts_of(services, "expire_holds", stuck) == 1
    shown = (await jobs_shown(clocked_stack))["expire_holds"]
    assert shown["last_run"]["items_done"] == 2
    assert shown["last_run"]["items_failed"] == 1
    assert shown["last_run"]["last_error"] == "invalid_argument: cannot release: card ****4242 under key [secret]"
    assert (shown["lag_seconds"], shown["oldest_due_at"]) == (10.0, "2026-01-01T01:00:00Z")
    assert (shown["retrying"], shown["parked"]) == (1, 0)
    [failure] = shown["recent_failures"]
    assert failure == {
        "item_id": stuck,
        "attempts": 1,
        "first_failed_at": iso(clock.now()),
        "last_failed_at": iso(clock.now()),
        "next_attempt_at": iso(clock.now() + timedelta(seconds=30)),
        "parked": False,
        "last_error": "invalid_argument: cannot release: card ****4242 under key [secret]",
    }

    assert await sweep_once(services) == 0
    assert await attempts_of(services, "expire_holds", stuck) == 1, "not tried before its retry"
    clock.advance(seconds=29)
    await sweep_once(services)
    assert await attempts_of(services, "expire_holds", stuck) == 1
    clock.advance(seconds=1)
    await sweep_once(services)
    assert await attempts_of(services, "expire_holds", stuck) == 2
    [failure] = (await jobs_shown(clocked_stack))["expire_holds"]["recent_failures"]
    assert failure["next_attempt_at"] == iso(clock.now() + timedelta(seconds=60)), "twice as long, at the cap"

    clock.advance(seconds=60)
    await sweep_once(services)
    assert await attempts_of(services, "expire_holds", stuck) == 3
    clock.advance(days=1)
    await sweep_once(services)
    assert await attempts_of(services, "expire_holds", stuck) == 3, "parked: not tried again"

    shown = (await jobs_shown(clocked_stack))["expire_holds"]
    assert (shown["retrying"], shown["parked"]) == (0, 1)
    assert shown["lag_seconds"] is None, "a parked item is not counted as work waiting"
    [failure] = shown["recent_failures"]
    assert (failure["attempts"], failure["parked"], failure["next_attempt_at"]) == (3, True, None)
    assert (await stored_hold(services, stuck)).status is HoldStatus.ACTIVE
    await assert_ledger_sound(services)


async def test_an_item_that_succeeds_on_a_retry_is_no_longer_a_failure(clocked_stack: Stack) -> None:
    services, clock = clocked_stack.services, clock_of(clocked_stack)
    _, [held] = await expiring_holds(services, 1)
    real = replace_job(services, "expire_holds")
    replace_job(services, "expire_holds", handle=failing_for(held, real.handle, RuntimeError("flaky")))
    clock.advance(hours=1)
    await sweep_once(services)
    assert await attempts_of(services, "expire_holds", held) == 1

    replace_job(services, "expire_holds", handle=real.handle)
    clock.advance(seconds=30)
    assert await sweep_once(services) == 1

    assert (await stored_hold(services, held)).status is HoldStatus.EXPIRED
    assert await attempts_of(services, "expire_holds", held) is None
    shown = (await jobs_shown(clocked_stack))["expire_holds"]
    assert (shown["retrying"], shown["parked"], shown["recent_failures"]) == (0, 0, [])


async def test_an_unexpected_error_is_kept_as_its_type_and_an_incident_and_logged_in_full(
    clocked_stack: Stack,
) -> None:
    services = clocked_stack.services
    _, [held] = await expiring_holds(services, 1)
    real = replace_job(services, "expire_holds")
    error = RuntimeError(f"SELECT * FROM holds WHERE card = '{CARD}' -- {SECRET}")
    replace_job(services, "expire_holds", handle=failing_for(held, real.handle, error))
    clock_of(clocked_stack).advance(hours=1)

    with structlog.testing.capture_logs() as logged:
        await sweep_once(services)

    [crash] = [line for line in logged if line["event"] == "job_item_crashed"]
    assert (crash["job"], crash["item"], crash["exc_info"]) == ("expire_holds", held, error)
    [failure] = (await jobs_shown(clocked_stack))["expire_holds"]["recent_failures"]
    assert failure["last_error"] == f"RuntimeError (incident {crash['incident']}: the details are in the worker's log)"
    stored = await dump_database(database(services).reader)
    assert card_numbers_in(stored) == []
    assert not [row for row in stored if SECRET in row or "SELECT" in row]


async def test_a_job_whose_claim_fails_is_recorded_and_the_other_jobs_still_run(clocked_stack: Stack) -> None:
    services = clocked_stack.services
    _, [held] = await expiring_holds(services, 1)

    async def broken(_uow: UnitOfWork, _claim: Claim) -> list[str]:
        raise InvalidInput(f"the claim query broke near {CARD}")

    async def nothing(_uow: UnitOfWork, _item: str) -> list[str]:
        return []

    async def never_due(_uow: UnitOfWork, _claim: Claim) -> None:
        return None

    services.jobs.insert(0, Job("broken", broken, nothing, str, never_due))
    clock_of(clocked_stack).advance(hours=1)

    assert await sweep_once(services) == 1
    assert (await stored_hold(services, held)).status is HoldStatus.EXPIRED
    shown = await jobs_shown(clocked_stack)
    assert shown["broken"]["last_run"]["last_error"] == "invalid_argument: the claim query broke near ****4242"
    assert shown["broken"]["last_run"]["finished_at"] is not None
    assert shown["expire_holds"]["last_run"]["items_done"] == 1
    assert shown["expire_holds"]["last_run"]["last_error"] is None


async def test_every_job_is_listed_with_its_last_run_and_how_far_behind_it_is(clocked_stack: Stack) -> None:
    services, clock = clocked_stack.services, clock_of(clocked_stack)
    before = await jobs_shown(clocked_stack)
    assert set(before) == {job.name for job in services.jobs}
    assert set(before) >= {
        "expire_payments",
        "retry_provider_events",
        "deliver_provider_events",
        "expire_holds",
        "purge_idempotency_keys",
        "purge_job_runs",
    }
    assert all(job["last_run"] is None and job["lag_seconds"] is None for job in before.values())

    await expiring_holds(services, 2)
    clock.advance(hours=3)
    assert (await jobs_shown(clocked_stack))["expire_holds"]["lag_seconds"] == 2 * 3600.0
    await sweep_once(services)

    after = await jobs_shown(clocked_stack)
    run = after["expire_holds"]["last_run"]
    assert (run["items_done"], run["items_failed"], run["last_error"]) == (2, 0, None)
    assert run["started_at"] == run["finished_at"] == iso(clock.now())
    assert after["expire_holds"]["lag_seconds"] is None
    # A frequent job (Job.every) is recorded only when it found work: here the sealer did, the rollup compactor not.
    passed = [job for job in services.jobs if job.every is None or after[job.name]["last_run"] is not None]
    assert {after[job.name]["last_run"]["worker"] for job in passed} == {run["worker"]}, "every job ran in this pass"
    assert after["seal_audit_log"]["last_run"] is not None


async def test_runs_older_than_their_retention_are_purged(clocked_stack: Stack) -> None:
    services, clock = clocked_stack.services, clock_of(clocked_stack)
    await sweep_once(services)
    clock.advance(days=8)
    await sweep_once(services)

    async with database(services).reader.connect() as conn:
        starts = (await conn.execute(text("SELECT DISTINCT started_at FROM job_runs"))).scalars().all()
    assert len(starts) == 1, "only the runs of the latest pass are left"


def frequent_job(due: list[str], batch: int, *, comes_due: bool) -> tuple[AnyJob, list[str]]:
    """A frequent job (Job.every) over `due`, and the items it handled; with comes_due, handling an item makes a new
    one due, as a call committing beside the sealer appends a record."""
    handled: list[str] = []

    async def claim(uow: UnitOfWork, claim: Claim) -> list[str]:
        return [item for item in due if item not in claim.skip][: claim.limit]

    async def handle(uow: UnitOfWork, item: str) -> list[str]:
        due.remove(item)
        handled.append(item)
        if comes_due:
            due.append(item + "+")
        return []

    async def oldest(uow: UnitOfWork, claim: Claim) -> datetime | None:
        return None

    return Job("frequent", claim, handle, str, oldest, audited=False, batch=batch, every=timedelta(seconds=1)), handled


async def test_a_frequent_job_takes_what_was_due_when_its_run_began_and_leaves_what_came_due_to_its_next_run(
    services: Services,
) -> None:
    due = ["a", "b"]
    job, handled = frequent_job(due, batch=3, comes_due=True)
    runner = services.get(JobRunner)

    first = await runner.run(job)
    after_first = list(handled)
    second = await runner.run(job)

    assert (first.done, first.more, after_first) == (2, False, ["a", "b"])
    assert (second.done, handled[2:], due) == (2, ["a+", "b+"], ["a++", "b++"])


async def test_a_frequent_job_whose_step_took_a_full_claim_goes_on_in_the_same_run(services: Services) -> None:
    due = ["a", "b", "c", "d", "e"]
    job, handled = frequent_job(due, batch=2, comes_due=False)

    run = await services.get(JobRunner).run(job)

    assert (run.done, handled, due) == (5, ["a", "b", "c", "d", "e"], [])
