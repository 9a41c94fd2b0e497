"""Health and ledger integrity: what an operator asks when something looks wrong."""

from __future__ import annotations

import time
from dataclasses import dataclass

from mcp_payments.domain import fx, ledger
from mcp_payments.domain.errors import DomainError
from mcp_payments.services.ports import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Health:
    status: str  # ok | degraded | down
    backend: str
    database_reachable: bool
    latency_ms: float | None
    schema_revision: str | None
    expected_revision: str
    uptime_seconds: float
    problem: str | None


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    ok: bool
    problems: list[str]
    accounts_checked: int
    transactions: int
    entries: int
    totals_by_currency: dict[str, int]
    fx_positions: list[fx.Position]


class MonitoringService:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow
        self.started = time.monotonic()

    async def health(self) -> Health:
        uptime = round(time.monotonic() - self.started, 3)
        try:
            latency = await self.uow.ping()
            current, head = await self.uow.schema_revision()
        except DomainError as error:
            return Health("down", self.uow.backend, False, None, None, "", uptime, error.message)
        problem = None if current == head else f"schema at {current}, code expects {head}: run `mcp-payments migrate`"
        return Health(
            "ok" if problem is None else "degraded",
            self.uow.backend,
            True,
            round(latency, 3),
            current,
            head,
            uptime,
            problem,
        )

    @staticmethod
    async def check_ledger(uow: UnitOfWork) -> IntegrityReport:
        accounts = await uow.ledger.all_accounts()
        totals = await uow.ledger.totals()
        problems = ledger.integrity_problems(
            accounts,
            totals.entry_sums,
            totals.pending_sums,
            totals.unbalanced_transactions,
            totals.global_sums,
        )
        problems += fx.integrity_problems(totals.fx_conversions, totals.fx_unmatched)
        return IntegrityReport(
            not problems,
            problems,
            len(accounts),
            totals.transactions,
            totals.entries,
            totals.global_sums,
            totals.fx_positions,
        )
