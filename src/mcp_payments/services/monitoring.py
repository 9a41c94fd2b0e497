"""Health and ledger integrity: what an operator asks when something looks wrong."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mcp_payments.domain import fx, ledger
from mcp_payments.domain.errors import DataError, DomainError
from mcp_payments.domain.ledger import Account, AccountType
from mcp_payments.services.job_runner import JobRunner, JobStatus
from mcp_payments.services.monitoring_ports import MONITORING, BindingFindings, Mark
from mcp_payments.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

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
    jobs: JobsHealth | None = None  # None when the database is down or behind
    ledger_check: Mark | None = None  # the last check_ledger_integrity, None when it never ran
    checked_at: datetime | None = None  # now, by the service's clock (ages are measured from it)


@dataclass(frozen=True, slots=True)
class JobsHealth:
    """How far behind background work is: its most lagging job, and the last run of any job."""

    most_lagging: str | None
    lag_seconds: float  # 0 when nothing is due
    last_run_at: datetime | None
    parked_items: int


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


LEDGER_CHECK = "ledger_check"  # the mark check_ledger_integrity leaves


class MonitoringService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock
        self.started = time.monotonic()

    async def health(self, jobs: JobRunner | None = None) -> Health:
        """Up, migrated, how fast the database answers, how far behind the jobs are, and the last ledger check."""
        uptime = round(time.monotonic() - self.started, 3)
        try:
            latency = await self.uow.ping()
            current, head = await self.uow.schema_revision()
        except DomainError as error:
            return Health("down", self.uow.backend, False, None, None, "", uptime, error.message)
        problem = None if current == head else f"schema at {current}, code expects {head}: run `mcp-payments migrate`"
        debt: dict[str, int] = {}
        lag: JobsHealth | None = None
        check: Mark | None = None
        if problem is None:
            async with self.uow(write=False) as uow:
                debt = merchant_debt(await uow.ledger.list_accounts(AccountType.MERCHANT, None, 1000))
                check = await uow.repo(MONITORING).mark(LEDGER_CHECK)
                if jobs is not None:
                    lag = jobs_health(await jobs.report(uow))
            if check is not None and not check.ok:
                problem = f"the last ledger check ({check.at.isoformat()}) found problems: {check.detail}"
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
            lag,
            check,
            self.clock.now(),
        )

    async def record_ledger_check(self, report: IntegrityReport) -> None:
        """Leave the mark get_service_health reads: when the ledger was last checked, and what it found."""
        detail = "sound" if report.ok else f"{len(report.problems)} problem(s), first: {report.problems[0]}"[:500]
        async with self.uow() as uow:
            await uow.repo(MONITORING).put_mark(Mark(LEDGER_CHECK, self.clock.now(), report.ok, detail))
            await uow.commit()

    @staticmethod
    async def check_ledger(uow: UnitOfWork) -> IntegrityReport:
        """Every invariant of the ledger, and the journal against the audit chain. A broken value is reported
        as a problem, never as an error: this is the tool to call when the data looks wrong."""
        if malformed := await uow.ledger.not_integers():
            problems = [f"{kind} {row_id} holds a money value that is not an integer" for kind, row_id in malformed]
            return IntegrityReport(False, problems, 0, 0, 0, {})
        try:
            wrong = await uow.ledger.account_findings(_MAX_PROBLEMS)
            totals = await uow.ledger.totals()
        except DataError as error:
            if account := error.details.get("account_id"):
                problem = f"account {account} holds a money value that is not an integer"
                return IntegrityReport(False, [problem], 0, 0, 0, {})
            problem = "the journal's amounts overflow 64-bit sums: values past the ledger's limits were written"
            return IntegrityReport(False, [problem], 0, 0, 0, {})
        # Only the wrong accounts (the first _MAX_PROBLEMS by id) come back from the database, with their sums.
        problems = ledger.integrity_problems(
            wrong.accounts, wrong.entry_sums, wrong.pending_sums, totals.unbalanced_transactions, totals.global_sums
        )
        fx_problems = fx.integrity_problems(totals.fx_conversions, totals.fx_unmatched)
        found = await uow.repo(MONITORING).journal_findings(_MAX_PROBLEMS)
        # The first _MAX_PROBLEMS of each kind are listed (enough to list the first overall), all are counted.
        problems += fx_problems + journal_problems(found)
        count = sum(
            (
                len(totals.unbalanced_transactions),
                len([total for total in totals.global_sums.values() if total]),
                wrong.problems_total,
                len(fx_problems),
                found.bound_twice_total,
                found.journal_total,
                found.missing_total,
            )
        )
        if count > _MAX_PROBLEMS:
            problems = [*problems[:_MAX_PROBLEMS], f"... and {count - _MAX_PROBLEMS} more"]
        return IntegrityReport(
            not problems,
            problems,
            wrong.accounts_checked,
            totals.transactions,
            totals.entries,
            totals.global_sums,
            totals.fx_positions,
            merchant_debt(await uow.ledger.list_accounts(AccountType.MERCHANT, None, 1000)),
        )


def jobs_health(statuses: Iterable[JobStatus]) -> JobsHealth:
    statuses = list(statuses)
    lagging = max(statuses, key=lambda s: s.lag or timedelta(0), default=None)
    lag = lagging.lag if lagging is not None and lagging.lag is not None else timedelta(0)
    runs = [s.last_run.started_at for s in statuses if s.last_run is not None]
    return JobsHealth(
        lagging.name if lagging is not None and lag > timedelta(0) else None,
        round(lag.total_seconds(), 3),
        max(runs, default=None),
        sum(s.parked for s in statuses),
    )


def merchant_debt(accounts: Iterable[Account]) -> dict[str, int]:
    """What the merchant owes per currency: refunds and disputes that took more than its balance held.

    Not a broken invariant: a processor lets a merchant balance go negative the same way, and new proceeds
    repay it before any can be moved into a wallet (PaymentService.fund_wallet)."""
    return {a.currency: -a.posted for a in accounts if a.type is AccountType.MERCHANT and a.posted < 0}


def journal_problems(found: BindingFindings) -> list[str]:
    """Where the journal and the audit log disagree, in both directions, said plainly.

    Every journal transaction must be bound by exactly one audit record (the record of the call or the
    background job that posted it, sealed or not yet) and still match the digest recorded there; every
    transaction a record binds must still be in the journal. Records written before binding existed carry no
    `journal`: the transactions posted before the last of them cannot be checked and are not reported."""
    problems = [
        f"transaction {txn} is bound by two audit records ({earlier}, {record})"
        for txn, earlier, record in found.bound_twice
    ]
    for txn, binder in found.journal:
        if binder is None:
            problems.append(
                f"transaction {txn} has no audit record: it was not posted through this server, "
                "or its audit record was removed"
            )
        else:
            problems.append(
                f"transaction {txn} no longer matches audit record {binder}: its entries, kind, "
                "reference or time were changed after it was posted"
            )
    problems += [
        f"audit record {record} binds transaction {txn}, which is missing from the journal (deleted?)"
        for record, txn in found.missing
    ]
    return problems
