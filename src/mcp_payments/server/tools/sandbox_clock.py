"""advance_sandbox_clock: the sandbox's time moved forward, with the work due on the way."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field

from mcp_payments.domain.errors import InvalidClockAdvance
from mcp_payments.server import progress
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.models import Mutation
from mcp_payments.services.clock_advance import Advanced, ClockAdvance
from mcp_payments.services.commands import Kind
from mcp_payments.services.ports import UnitOfWork


class JobItems(BaseModel):
    job: str = Field(description="The background job, e.g. renew_subscriptions or retry_subscription_invoices.")
    done: int = Field(description="Items it handled during the advance (a renewal: its invoice and payment).")
    failed: int = Field(description="Items that failed and wait for their retry (see list_background_jobs).")


class ClockAdvanced(Mutation):
    previous_time: datetime = Field(description="The sandbox's time when the call began.")
    new_time: datetime = Field(description="The sandbox's time now: every tool and background job uses it.")
    jobs: list[JobItems] = Field(
        default_factory=list,
        description="What the due work did on the way, per job, in this call (a worker running beside it may take "
        "some items). Empty on a replay (deduplicated): the first call did it.",
    )
    steps: int = Field(default=0, description="Instants at which due work ran, in time order.")

    def entity_ids(self) -> tuple[str, ...]:
        return ()  # the due work's own audit records (under `system`) name what it changed

    def with_work(self, done: Advanced | None) -> "ClockAdvanced":
        if done is None:
            return self
        names = sorted(set(done.items) | set(done.failed))
        jobs = [
            JobItems(job=name, done=done.items[name], failed=done.failed[name])
            for name in names
            if done.items[name] or done.failed[name]
        ]
        return self.model_copy(update={"new_time": done.time, "jobs": jobs, "steps": done.steps})


def register(box: Toolbox, advance: ClockAdvance, toolset: str) -> None:
    async def run_due_work(dispatch: Callable[[], Awaitable[BaseModel]]) -> BaseModel:
        interrupted = await advance.finish(progress.report)  # one that a crash left unfinished goes first
        started = await dispatch()
        assert isinstance(started, ClockAdvanced)
        done = await advance.finish(progress.report)
        return started.with_work(interrupted + done if interrupted and done else done or interrupted)

    @box.command(kind=Kind.OPERATE, toolset=toolset, title="Advance sandbox clock", around=run_due_work)
    async def advance_sandbox_clock(
        uow: UnitOfWork,
        by: Annotated[
            str | None,
            Field(
                default=None,
                max_length=40,
                description="How far to move, as an ISO 8601 duration: P1Y, P1M (a calendar month), P2W, P14D, PT36H.",
            ),
        ] = None,
        to: Annotated[
            AwareDatetime | None,
            Field(default=None, description="Or the instant to move to, with its offset: 2027-01-01T00:00:00Z."),
        ] = None,
    ) -> ClockAdvanced:
        """Sandbox only: move the clock forward (by a duration or to an instant, at most two years per call) and
        run all the work that falls due on the way, in time order: subscription renewals, dunning retries,
        expiries and every other background job. Reports progress while it works; returns what each job did."""
        if (by is None) == (to is None):
            raise InvalidClockAdvance("give either by= (a duration, such as P1M) or to= (an instant), not both")
        started = await advance.start(uow, by, to)
        return ClockAdvanced(previous_time=started.previous_time, new_time=started.target)
