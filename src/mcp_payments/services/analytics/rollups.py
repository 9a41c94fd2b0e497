"""Compacting the analytics rollups: a frequent job that moves the deltas the database's triggers appended (one per
change of a payment, refund, attempt or dispute entry) into the per-bucket sums (adapters/db/rollups.py).

Readers add the deltas not compacted yet, so the job only keeps reads short; it changes no domain state and is not
audited. Two workers are safe: the compaction is one transaction that moves exactly what it removes, and a second
compactor finds the lock taken and leaves the work to the first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mcp_payments.services.analytics.ports import ANALYTICS
from mcp_payments.services.jobs import Job
from mcp_payments.services.ports import Claim, UnitOfWork

COMPACTOR = "compact_analytics_rollups"


async def claim(uow: UnitOfWork, _claim: Claim) -> list[int]:
    waiting = await uow.repo(ANALYTICS).pending_rollup_deltas()
    return [waiting] if waiting else []


async def handle(uow: UnitOfWork, _waiting: int) -> list[str]:
    await uow.repo(ANALYTICS).compact_rollups()
    return []


async def oldest_delta(_uow: UnitOfWork, _claim: Claim) -> datetime | None:
    return None  # deltas carry no time: readers add them, so a backlog slows reads but never makes them wrong


# On its own, every EVERY (as the sealer is), not in the passes of due work: it is upkeep, not work a pass did, so
# a pass's count of items (what the jobs delivered, renewed, expired) stays what the domain did.
EVERY = timedelta(seconds=10)
JOB: Job[int] = Job(COMPACTOR, claim, handle, str, oldest_delta, audited=False, every=EVERY)
