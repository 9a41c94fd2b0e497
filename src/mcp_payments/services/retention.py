"""Retention: what is kept only for a while goes once its window has passed (windows in config.py).

- a screening's party name and date of birth (personal data) are redacted; its decision, matches and list
  version stay, for the compliance record;
- spend records (the rows behind the rolling spending totals) are deleted: no limit looks back that far;
- delivered webhook deliveries are deleted, and an event once no delivery of it is left (its body may carry
  personal data).

Spent idempotency keys go by the platform's purge_idempotency_keys job. These jobs are housekeeping in batches,
each row claimed once however many workers run them; they change no money and no state a tool acts on, so they
are not audited (as the idempotency purge is not).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mcp_payments.services.erasure_ports import ERASURE
from mcp_payments.services.jobs import AnyJob, Job
from mcp_payments.services.ports import Claim, Clock, UnitOfWork

_BATCH = 200


@dataclass(frozen=True, slots=True)
class Windows:
    screenings: timedelta
    spend_records: timedelta
    deliveries: timedelta


def jobs(clock: Clock, windows: Windows) -> Sequence[AnyJob]:
    async def screenings(uow: UnitOfWork, claim: Claim) -> list[str]:
        return await uow.repo(ERASURE).claim_old_screenings(claim, clock.now() - windows.screenings)

    async def redact(uow: UnitOfWork, screening_id: str) -> list[str]:
        await uow.repo(ERASURE).redact_screening(screening_id)
        return []

    async def spend_records(uow: UnitOfWork, claim: Claim) -> list[int]:
        return await uow.repo(ERASURE).claim_old_spend_records(claim, clock.now() - windows.spend_records)

    async def drop_spend(uow: UnitOfWork, record_id: int) -> list[str]:
        await uow.repo(ERASURE).delete_spend_record(record_id)
        return []

    async def deliveries(uow: UnitOfWork, claim: Claim) -> list[str]:
        return await uow.repo(ERASURE).claim_old_deliveries(claim, clock.now() - windows.deliveries)

    async def drop_delivery(uow: UnitOfWork, delivery_id: str) -> list[str]:
        await uow.repo(ERASURE).delete_delivery(delivery_id)
        return []

    def lag(what: str, window: timedelta) -> Callable[[UnitOfWork, Claim], Awaitable[datetime | None]]:
        async def oldest_due(uow: UnitOfWork, _claim: Claim) -> datetime | None:
            oldest = await uow.repo(ERASURE).oldest(what, clock.now() - window)
            return oldest + window if oldest is not None else None

        return oldest_due

    found: list[Job[Any]] = [
        Job(
            "redact_old_screenings", screenings, redact, str, lag("screenings", windows.screenings), False, batch=_BATCH
        ),
        Job(
            "purge_spend_records",
            spend_records,
            drop_spend,
            str,
            lag("spend_records", windows.spend_records),
            False,
            batch=_BATCH,
        ),
        Job(
            "purge_webhook_deliveries",
            deliveries,
            drop_delivery,
            str,
            lag("deliveries", windows.deliveries),
            False,
            batch=_BATCH,
        ),
    ]
    return found
