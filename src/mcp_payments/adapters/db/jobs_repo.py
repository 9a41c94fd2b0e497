"""What the job runner records (runs, failing items), and the condition every claim query adds.

Statements here run a few times per item of due work, not per tool call: they stay in SQLAlchemy Core.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, case, cast, delete, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.tables import job_failures, job_runs
from mcp_payments.services.ports import Claim, ItemFailure, JobRun


def claimable(claim: Claim, item_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """The items a claim may take: not held back by their failures (parked, or before their retry unless the
    claim counts waiting items too), and not handled already in this pass."""
    f = job_failures
    held = f.c.parked if claim.waiting else f.c.parked | (f.c.retry_at > claim.now)
    condition = ~exists().where(f.c.job == claim.job, f.c.item_id == item_id, held)
    if claim.skip:
        condition = condition & item_id.not_in(sorted(claim.skip))
    return condition


def claiming(query: Select[Any], claim: Claim, pg: bool) -> Select[Any]:
    """`query` limited to the claim, its rows locked; on PostgreSQL rows another worker holds are skipped
    (SQLite's one writer holds the whole database)."""
    query = query.limit(claim.limit)
    return query.with_for_update(skip_locked=True) if pg else query


class SqlJobs:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.pg = driver.dialect == "postgresql"

    async def start_run(self, job: str, worker: str, now: datetime) -> int:
        result = await self.conn.execute(
            insert(job_runs)
            .values(job=job, worker=worker[:200], started_at=now, done=0, failed=0)
            .returning(job_runs.c.id)
        )
        return int(result.scalar_one())

    async def finish_run(self, run_id: int, now: datetime, done: int, failed: int, last_error: str | None) -> None:
        await self.conn.execute(
            update(job_runs)
            .where(job_runs.c.id == run_id)
            .values(finished_at=now, done=done, failed=failed, last_error=last_error)
        )

    async def fail(self, job: str, item_id: str, error: str, now: datetime) -> int:
        # Inserted due now, so that the row is valid at once; hold_back() sets its retry in the same transaction.
        upsert = pg_insert if self.pg else sqlite_insert
        statement = upsert(job_failures).values(
            job=job,
            item_id=item_id,
            attempts=1,
            first_failed_at=now,
            last_failed_at=now,
            retry_at=now,
            parked=False,
            last_error=error,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[job_failures.c.job, job_failures.c.item_id],
            set_={"attempts": job_failures.c.attempts + 1, "last_failed_at": now, "last_error": error},
        )
        result = await self.conn.execute(statement.returning(job_failures.c.attempts))
        return int(result.scalar_one())

    async def hold_back(self, job: str, item_id: str, retry_at: datetime | None) -> None:
        await self.conn.execute(
            update(job_failures)
            .where(job_failures.c.job == job, job_failures.c.item_id == item_id)
            .values(retry_at=retry_at, parked=retry_at is None)
        )

    async def clear(self, job: str, item_ids: Sequence[str]) -> None:
        await self.conn.execute(
            delete(job_failures).where(job_failures.c.job == job, job_failures.c.item_id.in_(item_ids))
        )

    async def last_runs(self, jobs: Sequence[str]) -> dict[str, JobRun]:
        latest = select(func.max(job_runs.c.id)).where(job_runs.c.job.in_(jobs)).group_by(job_runs.c.job)
        rows = await self.conn.execute(select(job_runs).where(job_runs.c.id.in_(latest.scalar_subquery())))
        return {
            r.job: JobRun(
                int(r.id), r.job, r.worker, r.started_at, r.finished_at, int(r.done), int(r.failed), r.last_error
            )
            for r in rows
        }

    async def failures(self, job: str, limit: int) -> list[ItemFailure]:
        rows = await self.conn.execute(
            select(job_failures)
            .where(job_failures.c.job == job)
            .order_by(job_failures.c.last_failed_at.desc(), job_failures.c.item_id)
            .limit(limit)
        )
        return [
            ItemFailure(
                r.job,
                r.item_id,
                int(r.attempts),
                r.first_failed_at,
                r.last_failed_at,
                r.retry_at,
                bool(r.parked),
                r.last_error,
            )
            for r in rows
        ]

    async def failure_counts(self) -> dict[str, tuple[int, int]]:
        parked = func.sum(case((job_failures.c.parked, 1), else_=0))
        rows = await self.conn.execute(select(job_failures.c.job, func.count(), parked).group_by(job_failures.c.job))
        return {job: (int(total) - int(held or 0), int(held or 0)) for job, total, held in rows}

    async def claim_old_runs(self, claim: Claim, before: datetime) -> list[int]:
        query = (
            select(job_runs.c.id)
            .where(job_runs.c.started_at < before, claimable(claim, cast(job_runs.c.id, String)))
            .order_by(job_runs.c.id)
        )
        return [int(run_id) for run_id in (await self.conn.execute(claiming(query, claim, self.pg))).scalars()]

    async def delete_run(self, run_id: int) -> None:
        await self.conn.execute(delete(job_runs).where(job_runs.c.id == run_id))

    async def oldest_run(self, claim: Claim, before: datetime) -> datetime | None:
        query = select(func.min(job_runs.c.started_at)).where(
            job_runs.c.started_at < before, claimable(claim, cast(job_runs.c.id, String))
        )
        oldest: datetime | None = (await self.conn.execute(query)).scalar_one()
        return oldest
