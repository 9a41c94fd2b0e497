"""Running the jobs: every job on its own, every item (or batch of items) in its own transaction, every run on record.

A pass runs each job until nothing it may take is due (or `per_pass` items); a run of a frequent job (Job.every)
takes what was due when it began and leaves what comes due meanwhile to its next run. Each step claims an item (or a
batch of them: Job.batch) and handles it in one transaction with its audit record (CallRunner.background_each,
principal "system"; one record per item of a batch), so an item is either done once or still due, whatever
happens to the process. What an audited item posted is shown to the watchers (the AML rules) in that
transaction, by CallRunner, as what any background work posts. A failing item is rolled back, recorded and held
back for its retry (Retry); the others go on. A job whose claim fails stops for this pass; the other jobs run. Each
run of a job is recorded: start, end, items done and failed, and the last error, masked.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import anyio
import structlog

from mcp_payments.domain.errors import DomainError
from mcp_payments.services.calls import CallRunner
from mcp_payments.services.jobs import AnyJob, Retry, describe
from mcp_payments.services.ports import JOBS, Claim, Clock, ItemFailure, JobRun, UnitOfWork

T = TypeVar("T")
log = structlog.get_logger("mcp_payments.jobs")
RECENT_FAILURES = 10  # failing items shown per job


def this_worker() -> str:
    """Who runs a job, as its runs record it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class PassResult:
    done: int
    failed: int
    more: bool  # a job stopped at per_pass with items left: run again without waiting


@dataclass(frozen=True, slots=True)
class JobStatus:
    """What list_background_jobs shows of one job."""

    name: str
    last_run: JobRun | None
    oldest_due: datetime | None  # when the oldest due item (not parked) became due
    lag: timedelta | None
    retrying: int
    parked: int
    failures: list[ItemFailure]


@dataclass
class _Run:
    done: int = 0
    failed: int = 0
    last_error: str | None = None
    more: bool = False


class JobRunner:
    def __init__(
        self,
        calls: CallRunner,
        clock: Clock,
        jobs: Sequence[AnyJob],
        retry: Retry | None = None,
        *,
        secrets: Sequence[str] = (),
        worker: str | None = None,
        per_pass: int = 500,
    ) -> None:
        self.calls = calls
        self.clock = clock
        self.jobs = jobs  # read at every pass: categories add theirs after the runner is made
        self.retry = retry or Retry()
        self.secrets = tuple(secrets)  # masked out of recorded errors
        self.worker = worker or this_worker()
        self.per_pass = per_pass
        self.listeners: list[Callable[[str, int, int], None]] = []  # told of each run: job, items done, failed

    async def run_pass(self) -> PassResult:
        """Every job once, each on its own: a job that fails is recorded and the others still run. Jobs that run
        on their own, often (Job.every), are left to their own loop (bootstrap.run_due_work)."""
        done = failed = 0
        more = False
        for job in [job for job in self.jobs if job.every is None]:
            await anyio.lowlevel.checkpoint()  # a shutdown gets in between jobs (a run's steps are shielded)
            run = await self.run(job)
            done, failed, more = done + run.done, failed + run.failed, more or run.more
        return PassResult(done, failed, more)

    async def run(self, job: AnyJob) -> _Run:
        """One run of `job`, recorded. Each step is shielded: a shutdown waits for the item in hand (one short
        transaction) instead of cancelling it mid-query, and then stops."""
        run = await self._run(job)
        for listener in self.listeners:
            listener(job.name, run.done, run.failed)
        return run

    async def _run(self, job: AnyJob) -> _Run:
        run = _Run()
        if job.every is not None:
            return await self._run_often(job, run)
        try:
            run_id = await _shielded(self.calls.write(self._start(job)))
        except Exception as error:
            self._log_job_failure(job, error)  # the database is out of reach: nothing to record it in
            return run
        try:
            await self._items(job, run)
        except Exception as error:
            run.last_error = self._log_job_failure(job, error)
        finally:
            with anyio.CancelScope(shield=True):
                try:
                    await self.calls.write(self._finish(run_id, run))
                except Exception as error:
                    self._log_job_failure(job, error)
        if run.done or run.failed:
            log.info("job_done", job=job.name, items=run.done, failed=run.failed)
        return run

    async def _run_often(self, job: AnyJob, run: _Run) -> _Run:
        """A run of a frequent job, recorded only when it did something or failed: two rows every half second
        would soon outweigh what they record."""
        started = self.clock.now()
        try:
            await self._items(job, run)
        except Exception as error:
            run.last_error = self._log_job_failure(job, error)
        if run.done or run.failed or run.last_error:

            async def record(uow: UnitOfWork) -> None:
                run_id = await uow.repo(JOBS).start_run(job.name, self.worker, started)
                await uow.repo(JOBS).finish_run(run_id, self.clock.now(), run.done, run.failed, run.last_error)

            with anyio.CancelScope(shield=True):
                try:
                    await self.calls.write(record)
                except Exception as error:
                    self._log_job_failure(job, error)
        return run

    async def _items(self, job: AnyJob, run: _Run) -> None:
        seen: set[str] = set()
        size = job.batch
        while True:
            if run.done + run.failed >= self.per_pass:
                run.more = True
                return
            claimed: list[Any] = []
            claim = Claim(job.name, self.clock.now(), min(size, self.per_pass), frozenset(seen))
            try:
                handled = await _shielded(self._step(job, claim, claimed))
            except Exception as error:
                if not claimed:
                    raise  # the claim itself failed: the job stops for this pass
                if len(claimed) > 1:
                    size = 1  # a batch failed: go on one item at a time, to find the failing one
                    continue
                item = job.item_id(claimed[0])
                seen.add(item)
                run.failed += 1
                run.last_error = await _shielded(self._record_failure(job, item, error))
                continue
            if not handled:
                return
            seen.update(job.item_id(item) for item, _ in handled)
            run.done += sum(1 for _, result in handled if result is not None)
            if job.after is not None:
                await self._after(job, [item for item, result in handled if result is not None])
            if job.every is not None and _taken(job, handled) < claim.limit:
                # It took all that was due: what came due since waits for the next run, job.every later. Chasing it
                # would make the sealer a transaction per few calls beside busy callers (benchmarks/sealing.py).
                return
            await anyio.lowlevel.checkpoint()  # a shutdown gets in between items

    async def _step(self, job: AnyJob, claim: Claim, claimed: list[Any]) -> list[tuple[Any, Sequence[str] | None]]:
        """Claim and handle up to claim.limit items in one transaction; each item with what handling it returned."""

        async def operation(
            uow: UnitOfWork, done: Callable[[Iterable[str]], Awaitable[None]] | None = None
        ) -> list[tuple[Any, Sequence[str] | None]]:
            claimed.clear()  # a contention retry starts over
            claimed.extend(i for i in await job.claim(uow, claim) if job.item_id(i) not in claim.skip)
            results = []
            for item in claimed:
                results.append((item, changed := await job.handle(uow, item)))
                if done is not None:
                    # What it posted is shown to the watchers (the AML rules); its audit record names what it
                    # changed and binds what it posted.
                    await done(changed or ())
            if claimed:
                await uow.repo(JOBS).clear(job.name, [job.item_id(item) for item in claimed])
            return results

        if not job.audited:
            return await self.calls.write(operation)
        return await self.calls.background_each(job.audited_as, operation)

    async def _after(self, job: AnyJob, items: list[Any]) -> None:
        assert job.after is not None
        try:
            await job.after(items)
        except Exception as error:
            self._log_job_failure(job, error)

    async def _record_failure(self, job: AnyJob, item: str, error: BaseException) -> str:
        """Keep the failure (rolled back with the item's transaction) and hold the item back until its retry."""
        text, incident = describe(error, self.secrets)
        now = self.clock.now()

        async def record(uow: UnitOfWork) -> datetime | None:
            attempts = await uow.repo(JOBS).fail(job.name, item, text, now)
            retry_at = self.retry.next_attempt(attempts, now)
            await uow.repo(JOBS).hold_back(job.name, item, retry_at)
            return retry_at

        retry_at = await self.calls.write(record)
        fields: dict[str, Any] = {"job": job.name, "item": item, "retry_at": retry_at, "parked": retry_at is None}
        if isinstance(error, DomainError):
            log.warning("job_item_failed", code=error.code, **fields)
        else:
            log.error("job_item_crashed", incident=incident, exc_info=error, **fields)
        return text

    def _log_job_failure(self, job: AnyJob, error: BaseException) -> str:
        text, incident = describe(error, self.secrets)
        if isinstance(error, DomainError):
            log.warning("job_failed", job=job.name, code=error.code)
        else:
            log.error("job_crashed", job=job.name, incident=incident, exc_info=error)
        return text

    def _start(self, job: AnyJob) -> Callable[[UnitOfWork], Awaitable[int]]:
        return lambda uow: uow.repo(JOBS).start_run(job.name, self.worker, self.clock.now())

    def _finish(self, run_id: int, run: _Run) -> Callable[[UnitOfWork], Awaitable[None]]:
        return lambda uow: uow.repo(JOBS).finish_run(run_id, self.clock.now(), run.done, run.failed, run.last_error)

    async def report(self, uow: UnitOfWork) -> list[JobStatus]:
        """Per job: its last run, its lag (by a query per job) and its failing items."""
        now = self.clock.now()
        names = [job.name for job in self.jobs]
        runs = await uow.repo(JOBS).last_runs(names)
        counts = await uow.repo(JOBS).failure_counts()
        statuses = []
        for job in self.jobs:
            oldest = await job.oldest_due(uow, Claim(job.name, now, waiting=True))
            retrying, parked = counts.get(job.name, (0, 0))
            statuses.append(
                JobStatus(
                    job.name,
                    runs.get(job.name),
                    oldest,
                    max(now - oldest, timedelta(0)) if oldest is not None else None,
                    retrying,
                    parked,
                    await uow.repo(JOBS).failures(job.name, RECENT_FAILURES),
                )
            )
        return statuses


def _taken(job: AnyJob, handled: Sequence[tuple[Any, object]]) -> int:
    """How much of its claim's limit a step took (Job.size)."""
    size = job.size
    return len(handled) if size is None else sum(size(item) for item, _ in handled)


async def _shielded(step: Awaitable[T]) -> T:
    with anyio.CancelScope(shield=True):
        result = await step
    return result
