"""Monitoring tools: is the service healthy, does the ledger still add up, and is background work keeping up."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from mcp_payments import __version__
from mcp_payments.domain import fx
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.models import MoneyOut
from mcp_payments.server.tools.monitoring_models import AlertOut, AlertsOut, ToolMetricsOut
from mcp_payments.services.alerts import Alerts, duration
from mcp_payments.services.container import Services
from mcp_payments.services.job_runner import JobRunner, JobStatus
from mcp_payments.services.monitoring import Health, IntegrityReport, MonitoringService
from mcp_payments.services.ports import ItemFailure, JobRun, UnitOfWork
from mcp_payments.services.tool_metrics import MAX_TOOLS, MAX_WINDOW_MINUTES, MIN_WINDOW_MINUTES, ToolMetrics


class ServiceHealth(BaseModel):
    status: str = Field(description="ok, degraded (e.g. migrations pending) or down (database unreachable).")
    version: str
    database_backend: str = Field(description="sqlite or postgresql.")
    database_reachable: bool
    database_latency_ms: float | None
    schema_revision: str | None
    expected_schema_revision: str
    uptime_seconds: float
    tools_exposed: int
    schema_current: bool = Field(description="True when the database is at the migration head this code expects.")
    problem: str | None = Field(description="What is wrong and what to do, when status is not ok.")
    job_lag_seconds: float | None = Field(
        description="How long the most lagging background job's oldest due item has waited (0: nothing due); "
        "None when the database is down or behind."
    )
    most_lagging_job: str | None
    last_job_run_at: datetime | None = Field(description="When any background job last ran (any process).")
    parked_job_items: int | None = Field(description="Items background jobs gave up on (list_background_jobs).")
    last_ledger_check_at: datetime | None = Field(description="When check_ledger_integrity last ran; None: never.")
    last_ledger_check_age_seconds: float | None
    last_ledger_check_ok: bool | None = Field(description="Whether that check found the ledger sound.")
    merchant_debt: list[MoneyOut] = Field(
        description="What the merchant balance owes, per currency, after refunds and disputes took more than it "
        "held; new payment proceeds repay it before any can fund a wallet."
    )

    @classmethod
    def of(cls, h: Health, tools: int) -> "ServiceHealth":
        check = h.ledger_check
        return cls(
            status=h.status,
            version=__version__,
            database_backend=h.backend,
            database_reachable=h.database_reachable,
            database_latency_ms=h.latency_ms,
            schema_revision=h.schema_revision,
            expected_schema_revision=h.expected_revision,
            uptime_seconds=h.uptime_seconds,
            tools_exposed=tools,
            schema_current=h.schema_revision is not None and h.schema_revision == h.expected_revision,
            problem=h.problem,
            job_lag_seconds=h.jobs.lag_seconds if h.jobs else None,
            most_lagging_job=h.jobs.most_lagging if h.jobs else None,
            last_job_run_at=h.jobs.last_run_at if h.jobs else None,
            parked_job_items=h.jobs.parked_items if h.jobs else None,
            last_ledger_check_at=check.at if check else None,
            last_ledger_check_age_seconds=(
                round((h.checked_at - check.at).total_seconds(), 3) if check and h.checked_at else None
            ),
            last_ledger_check_ok=check.ok if check else None,
            merchant_debt=debts(h.merchant_debt),
        )


class FxPosition(BaseModel):
    pair: str = Field(description='Source/target as converted, e.g. "JPY/USD" for JPY converted into USD.')
    conversions: int
    received: MoneyOut = Field(description="Taken in by the FX desk, in the source currency (rounding excluded).")
    paid: MoneyOut = Field(description="Paid out by the FX desk, in the target currency.")
    rounding: MoneyOut = Field(description="Source amounts that bought nothing, booked to the FX rounding account.")

    @classmethod
    def of(cls, p: fx.Position) -> "FxPosition":
        return cls(
            pair=f"{p.source}/{p.target}",
            conversions=p.conversions,
            received=MoneyOut.of(p.received, p.source),
            paid=MoneyOut.of(p.paid, p.target),
            rounding=MoneyOut.of(p.residue, p.source),
        )


class LedgerIntegrity(BaseModel):
    ok: bool = Field(description="True when every invariant holds.")
    problems: list[str] = Field(description="Each broken invariant, empty when ok.")
    accounts_checked: int
    transactions: int
    entries: int
    totals_by_currency: dict[str, int] = Field(description="Sum of all entries per currency: always 0.")
    fx_positions: list[FxPosition] = Field(description="What currency conversions took in and paid out, per pair.")
    merchant_debt: list[MoneyOut] = Field(
        description="What the merchant balance owes per currency (refunds and disputes beyond its balance): "
        "reported, not a problem."
    )

    @classmethod
    def of(cls, r: IntegrityReport) -> "LedgerIntegrity":
        return cls(
            ok=r.ok,
            problems=r.problems,
            accounts_checked=r.accounts_checked,
            transactions=r.transactions,
            entries=r.entries,
            totals_by_currency=r.totals_by_currency,
            fx_positions=[FxPosition.of(p) for p in r.fx_positions],
            merchant_debt=debts(r.merchant_debt),
        )


class JobRunOut(BaseModel):
    started_at: datetime
    finished_at: datetime | None = Field(description="None while the run goes on, or when its worker died mid-run.")
    items_done: int
    items_failed: int
    last_error: str | None = Field(description="The last failure of the run (masked), if any.")
    worker: str = Field(description="host:pid of the process that ran it.")

    @classmethod
    def of(cls, r: JobRun) -> "JobRunOut":
        return cls(
            started_at=r.started_at,
            finished_at=r.finished_at,
            items_done=r.done,
            items_failed=r.failed,
            last_error=r.last_error,
            worker=r.worker,
        )


class ItemFailureOut(BaseModel):
    item_id: str = Field(description="What failed: a hold, payment or event id.")
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    next_attempt_at: datetime | None = Field(description="When it is tried again; None when parked.")
    parked: bool = Field(description="True: it failed too often and is no longer tried by itself.")
    last_error: str = Field(description="Its last failure, masked: a code and message, or an incident id to look up.")

    @classmethod
    def of(cls, f: ItemFailure) -> "ItemFailureOut":
        return cls(
            item_id=f.item_id,
            attempts=f.attempts,
            first_failed_at=f.first_failed_at,
            last_failed_at=f.last_failed_at,
            next_attempt_at=f.retry_at,
            parked=f.parked,
            last_error=f.last_error,
        )


class BackgroundJob(BaseModel):
    name: str
    last_run: JobRunOut | None = Field(description="Its latest run by any worker; None if it never ran.")
    lag_seconds: float | None = Field(
        description="Age of its oldest due item (items parked after failures excluded); None when nothing is due."
    )
    oldest_due_at: datetime | None = Field(description="When that item became due.")
    retrying: int = Field(description="Items that failed and wait for their next attempt.")
    parked: int = Field(description="Items that failed too often and are no longer tried.")
    recent_failures: list[ItemFailureOut] = Field(description="Its failing items, most recent first (at most 10).")

    @classmethod
    def of(cls, s: JobStatus) -> "BackgroundJob":
        return cls(
            name=s.name,
            last_run=JobRunOut.of(s.last_run) if s.last_run else None,
            lag_seconds=s.lag.total_seconds() if s.lag is not None else None,
            oldest_due_at=s.oldest_due,
            retrying=s.retrying,
            parked=s.parked,
            recent_failures=[ItemFailureOut.of(f) for f in s.failures],
        )


class BackgroundJobs(BaseModel):
    jobs: list[BackgroundJob]


def rules(alerts: Alerts) -> dict[str, str]:
    t = alerts.settings
    return {
        "authorization_rate_drop": f"the authorization rate of the last {duration(t.auth_window)} at least "
        f"{t.auth_rate_drop} points below that of the 7 days before, with at least {t.auth_min_attempts} attempts",
        "job_lag": f"a background job's oldest due item waiting more than {duration(t.job_lag)}",
        "tool_error_rate": f"a tool failing on the server's side in more than {t.error_rate}% of at least "
        f"{t.error_min_calls} calls in the last {duration(t.error_window)}",
    }


def debts(owed: dict[str, int]) -> list[MoneyOut]:
    return [MoneyOut.of(minor, currency) for currency, minor in sorted(owed.items())]


def register(box: Toolbox, app: Services) -> None:
    service = app.get(MonitoringService)

    @box.query(toolset="monitoring", title="Service health")
    async def get_service_health() -> ServiceHealth:
        """Check that the server and its database are up and migrated, how fast the database answers, how far
        behind background jobs are and when the ledger was last checked. Call it first when other tools fail
        with service_unavailable."""
        return ServiceHealth.of(await service.health(app.get(JobRunner)), len(box.specs))

    @box.query(toolset="monitoring", title="Check ledger integrity")
    async def check_ledger_integrity() -> LedgerIntegrity:
        """Verify the ledger's invariants: every transaction sums to zero per currency, every cached balance
        equals its journal entries and active holds, no wallet is overdrawn, and no currency conversion credited
        more than it took was worth. Also reports the FX desk's position per currency pair."""
        report = await app.calls.read(service.check_ledger)
        await service.record_ledger_check(report)  # get_service_health shows when, and what it found
        return LedgerIntegrity.of(report)

    @box.query(toolset="monitoring", title="Tool metrics", snapshot=False)
    async def get_tool_metrics(
        uow: UnitOfWork,
        window_minutes: Annotated[
            int,
            Field(
                strict=True,
                ge=MIN_WINDOW_MINUTES,
                le=MAX_WINDOW_MINUTES,
                description="The last this many minutes, the current one included: 15, 60, 1440 (a day) up to "
                "10080 (7 days).",
            ),
        ] = 60,
        tools: Annotated[
            list[Annotated[str, Field(max_length=100)]] | None,
            Field(
                max_length=MAX_TOOLS, description="Only these tools (names as tools/list gives them); all if left out."
            ),
        ] = None,
    ) -> ToolMetricsOut:
        """Per tool: calls, errors by code and p50/p95/p99 latency over a recent window, counted across every
        server process sharing this database. Call it to see which tools fail or slow down, and how often."""
        known = set(box.specs) | set(box.hidden)
        return ToolMetricsOut.of(await app.get(ToolMetrics).report(uow, window_minutes, tools, known))

    @box.query(toolset="monitoring", title="Alerts")
    async def list_alerts(uow: UnitOfWork) -> AlertsOut:
        """The alerts that hold now, from built-in rules: the authorization rate dropping below its 7-day
        baseline, a background job lagging, a tool failing on the server's side. Each says what is wrong, the
        numbers and what to do; an empty list means all is well."""
        alerts = app.get(Alerts)
        found = await alerts.active(uow, app.get(JobRunner))
        return AlertsOut(alerts=[AlertOut.of(a) for a in found], checked_at=alerts.clock.now(), rules=rules(alerts))

    @box.query(toolset="monitoring", title="Background jobs")
    async def list_background_jobs(uow: UnitOfWork) -> BackgroundJobs:
        """Show the background jobs (hold and authorization expiry, provider events, housekeeping): each one's
        last run, how far behind it is (lag_seconds) and its failing items. Call it when something that should
        happen by itself (a hold releasing, a dispute arriving) has not."""
        return BackgroundJobs(jobs=[BackgroundJob.of(s) for s in await app.get(JobRunner).report(uow)])
