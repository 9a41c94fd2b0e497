"""Advancing the sandbox clock: time moves forward in steps, and at each step the work due by then runs.

An advance has two parts. The call itself (advance_sandbox_clock, a command: once per idempotency key, audited)
checks the target and records it as the advance under way. Then the due work runs, outside that call's
transaction, each item in its own as the job runner always does: find the earliest instant at which any job has
work due (each job's `oldest_due`, asked about the target), set the clock there, run the jobs due by then, and
again, until nothing is due before the target; then the clock is set to the target. So renewals, dunning retries,
expiries and any job a category adds run in time order, each at the time it was due, whichever job it belongs to.

Every step's time is written to the database before its work runs, so other processes follow (and their own
due work never runs ahead of the advance). An advance that was interrupted (the process died) is finished by the
next advance_sandbox_clock call: its target is still recorded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from mcp_payments.domain import sandbox_clock
from mcp_payments.domain.errors import ClockAdvanceInProgress, InvalidClockAdvance, SandboxOnly
from mcp_payments.services.calls import CallRunner
from mcp_payments.services.job_runner import JobRunner
from mcp_payments.services.jobs import AnyJob
from mcp_payments.services.ports import Claim, UnitOfWork
from mcp_payments.services.sandbox_clock import SANDBOX_CLOCK, SandboxClock

# progress, total, message: how the advance reports how far it got (MCP progress notifications)
Progress = Callable[[float, float | None, str | None], Awaitable[None]]


async def no_progress(_progress: float, _total: float | None, _message: str | None) -> None:
    return None


@dataclass(frozen=True, slots=True)
class AdvanceStarted:
    previous_time: datetime
    target: datetime


@dataclass
class Advanced:
    """What an advance did: the clock's time at the end, items done per job, and how many steps it took."""

    time: datetime
    items: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    steps: int = 0

    def __add__(self, later: Advanced) -> Advanced:
        return Advanced(later.time, self.items + later.items, self.failed + later.failed, self.steps + later.steps)


class ClockAdvance:
    def __init__(self, clock: SandboxClock, calls: CallRunner, runner: JobRunner, *, sandbox: bool) -> None:
        self.clock = clock
        self.calls = calls
        self.runner = runner
        self.sandbox = sandbox  # False when the payment provider is a real one: its time cannot be moved

    async def follow(self) -> None:
        """Read the offset other processes may have moved (one statement, no transaction)."""
        state = await self.calls.read(lambda uow: uow.repo(SANDBOX_CLOCK).get(), snapshot=False)
        self.clock.apply(state.offset)

    async def start(self, uow: UnitOfWork, by: str | None, to: datetime | None) -> AdvanceStarted:
        """Check the advance and record it as under way, in the command's transaction (so once per key)."""
        if not self.sandbox:
            raise SandboxOnly(
                "advance_sandbox_clock moves the sandbox's time only; this server charges a real payment provider, "
                "whose time cannot be moved"
            )
        state = await uow.repo(SANDBOX_CLOCK).get(lock=True)
        self.clock.apply(state.offset)
        now = self.clock.now()
        if state.advancing_to is not None:
            raise ClockAdvanceInProgress(
                f"the sandbox clock is being advanced to {state.advancing_to.isoformat()} by another call: call "
                "again when it is done (a few seconds to minutes, depending on the due work)",
                advancing_to=state.advancing_to.isoformat(),
            )
        if (by is None) == (to is None):
            raise InvalidClockAdvance("give either by= (a duration, such as P1M) or to= (an instant), not both")
        target = sandbox_clock.checked_target(now, sandbox_clock.after(now, by) if by is not None else to)  # type: ignore[arg-type]  # to is set: checked above
        await uow.repo(SANDBOX_CLOCK).start_advance(target, now)
        return AdvanceStarted(now, target)

    async def finish(self, report: Progress = no_progress) -> Advanced | None:
        """Run the advance under way, if there is one (just started, or interrupted), to its end."""
        state = await self.calls.read(lambda uow: uow.repo(SANDBOX_CLOCK).get(), snapshot=False)
        self.clock.apply(state.offset)
        if state.advancing_to is None:
            return None
        return await self._run_to(state.advancing_to, report)

    async def _run_to(self, target: datetime, report: Progress) -> Advanced:
        begun = self.clock.now()
        total = max((target - begun).total_seconds(), 0.0)
        timed = [job for job in self.runner.jobs if job.audited]  # housekeeping changes no domain state: at the end
        done = Advanced(begun)
        idle: set[str] = set()  # jobs that found nothing to do at this instant although said to be due
        while True:
            now = self.clock.now()
            due = await self.calls.read(lambda uow: _due_by(uow, timed, target))
            waiting = [at for name, at in due.items() if not (name in idle and at <= now)]
            if not waiting:
                break
            instant = max(min(waiting), now)
            if instant > now:
                await self._move_to(instant)
            idle = set()
            for job in timed:
                if job.name in due and due[job.name] <= instant:
                    run = await self.runner.run(job)
                    done.items[job.name] += run.done
                    done.failed[job.name] += run.failed
                    if not (run.done or run.failed):
                        idle.add(job.name)
            done.steps += 1
            elapsed = min((self.clock.now() - begun).total_seconds(), total)
            await report(elapsed, total, _describe(instant, done))
        if target > self.clock.now():
            await self._move_to(target)
        # At the target, every job once more (what is left: an item that failed on the way and whose retry came
        # while nothing else was due), and the housekeeping.
        for job in self.runner.jobs:
            run = await self.runner.run(job)
            done.items[job.name] += run.done
            done.failed[job.name] += run.failed
        await self.calls.write(lambda uow: uow.repo(SANDBOX_CLOCK).finish_advance(target, self.clock.now()))
        done.time = self.clock.now()
        await report(total, total, _describe(done.time, done))
        return done

    async def _move_to(self, instant: datetime) -> None:
        """The clock at `instant`, here at once and in the database for the other processes."""
        offset = self.clock.offset_for(instant)
        await self.calls.write(lambda uow: uow.repo(SANDBOX_CLOCK).move(offset, instant))
        self.clock.apply(offset)


async def _due_by(uow: UnitOfWork, jobs: list[AnyJob], target: datetime) -> dict[str, datetime]:
    """Per job with work due by `target`: when its earliest item is due."""
    found = {}
    for job in jobs:
        at = await job.oldest_due(uow, Claim(job.name, target))
        if at is not None and at <= target:
            found[job.name] = at
    return found


def _describe(instant: datetime, done: Advanced) -> str:
    work = ", ".join(f"{name} {count}" for name, count in sorted(done.items.items()) if count) or "nothing due yet"
    return f"at {instant.isoformat()}: {work}"
