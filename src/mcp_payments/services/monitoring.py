"""Health and ledger integrity: what an operator asks when something looks wrong."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from mcp_payments.domain import fx, ledger
from mcp_payments.domain.errors import DataError, DomainError
from mcp_payments.domain.ledger import Account, AccountType
from mcp_payments.services.compliance import journal_problems
from mcp_payments.services.ports import UnitOfWork, UnitOfWorkFactory

_MAX_PROBLEMS = 200  # listed one by one; beyond that, counted


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
    merchant_debt: dict[str, int] = field(default_factory=dict)  # currency -> minor units owed


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    ok: bool
    problems: list[str]
    accounts_checked: int
    transactions: int
    entries: int
    totals_by_currency: dict[str, int]
    fx_positions: list[fx.Position] = field(default_factory=list)
    merchant_debt: dict[str, int] = field(default_factory=dict)  # currency -> minor units owed


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
        debt = {}
        if problem is None:
            async with self.uow(write=False, snapshot=False) as uow:
                debt = merchant_debt(await uow.ledger.list_accounts(AccountType.MERCHANT, None, 1000))
        return Health(
            "ok" if problem is None else "degraded",
            self.uow.backend,
            True,
            round(latency, 3),
            current,
            head,
            uptime,
            problem,
            debt,
        )

    @staticmethod
    async def check_ledger(uow: UnitOfWork) -> IntegrityReport:
        """Every invariant of the ledger, and the journal against the audit chain. A broken value is reported
        as a problem, never as an error: this is the tool to call when the data looks wrong."""
        if malformed := await uow.ledger.not_integers():
            problems = [f"{kind} {row_id} holds a money value that is not an integer" for kind, row_id in malformed]
            return IntegrityReport(False, problems, 0, 0, 0, {})
        try:
            accounts = await uow.ledger.all_accounts()
        except DataError as error:
            problem = f"account {error.details.get('account_id')} holds a money value that is not an integer"
            return IntegrityReport(False, [problem], 0, 0, 0, {})
        try:
            totals = await uow.ledger.totals()
        except DataError:
            problem = "the journal's amounts overflow 64-bit sums: values past the ledger's limits were written"
            return IntegrityReport(False, [problem], len(accounts), 0, 0, {})
        problems = ledger.integrity_problems(
            accounts,
            totals.entry_sums,
            totals.pending_sums,
            totals.unbalanced_transactions,
            totals.global_sums,
        )
        problems += fx.integrity_problems(totals.fx_conversions, totals.fx_unmatched)
        problems += await journal_problems(uow)
        if len(problems) > _MAX_PROBLEMS:
            problems = [*problems[:_MAX_PROBLEMS], f"... and {len(problems) - _MAX_PROBLEMS} more"]
        return IntegrityReport(
            not problems,
            problems,
            len(accounts),
            totals.transactions,
            totals.entries,
            totals.global_sums,
            totals.fx_positions,
            merchant_debt(accounts),
        )


def merchant_debt(accounts: Iterable[Account]) -> dict[str, int]:
    """What the merchant owes per currency: refunds and disputes that took more than its balance held.

    Not a broken invariant: a processor lets a merchant balance go negative the same way, and new proceeds
    repay it before any can be moved into a wallet (PaymentService.fund_wallet)."""
    return {a.currency: -a.posted for a in accounts if a.type is AccountType.MERCHANT and a.posted < 0}
