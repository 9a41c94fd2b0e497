"""list_alerts: a few built-in rules over what the database already holds, with thresholds from the settings.

- authorization_rate_drop: the authorization rate of the last window is at least N points below that of the 7
  days before it, once the window has a minimum of attempts (fewer say nothing either way).
- job_lag: a background job's oldest due item waits longer than the threshold.
- tool_error_rate: a tool fails on the server's side (internal error, database or provider unavailable,
  contention, data error) in more than N percent of at least M calls in the window. A card declined or a bad
  argument is the caller's outcome, not the server's failure, and does not count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from mcp_payments.services.job_runner import JobRunner
from mcp_payments.services.monitoring_ports import MONITORING, Authorizations
from mcp_payments.services.ports import Clock, UnitOfWork
from mcp_payments.services.tool_metrics import ToolMetrics, window_start

BASELINE = timedelta(days=7)
SERVER_FAILURES = frozenset(
    {"internal_error", "service_unavailable", "contention", "provider_unavailable", "data_error"}
)
_POINT = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The rules' settings (config.py, MCP_PAYMENTS_ALERT_*)."""

    auth_window: timedelta = timedelta(hours=1)
    auth_rate_drop: Decimal = Decimal(10)  # percentage points
    auth_min_attempts: int = 20
    job_lag: timedelta = timedelta(minutes=10)
    error_window: timedelta = timedelta(minutes=15)
    error_rate: Decimal = Decimal(5)  # percent
    error_min_calls: int = 20


@dataclass(frozen=True, slots=True)
class Alert:
    rule: str
    severity: str  # warning | critical
    subject: str  # what it is about: "payments", a job's or a tool's name
    message: str  # what is wrong, with the numbers
    action: str  # what to do
    values: dict[str, str]  # the numbers, as exact strings (rates in percent)


def rate(part: int, whole: int) -> Decimal:
    """part/whole in percent, to 0.1."""
    return (Decimal(part) * 100 / Decimal(whole)).quantize(_POINT)


class Alerts:
    def __init__(self, settings: Thresholds, clock: Clock, metrics: ToolMetrics) -> None:
        self.settings = settings
        self.clock = clock
        self.metrics = metrics

    async def active(self, uow: UnitOfWork, jobs: JobRunner) -> list[Alert]:
        """Every rule's alerts, now: critical ones first."""
        found = [
            *await self.authorization_rate(uow),
            *await self.job_lag(uow, jobs),
            *await self.tool_errors(uow),
        ]
        return sorted(found, key=lambda a: (a.severity != "critical", a.rule, a.subject))

    async def authorization_rate(self, uow: UnitOfWork) -> list[Alert]:
        s = self.settings
        now = self.clock.now()
        start = now - s.auth_window
        recent = await uow.repo(MONITORING).authorizations(start, now)
        baseline = await uow.repo(MONITORING).authorizations(start - BASELINE, start)
        if recent.total < s.auth_min_attempts or baseline.total == 0:
            return []
        drop = rate(baseline.approved, baseline.total) - rate(recent.approved, recent.total)
        if drop < s.auth_rate_drop:
            return []
        return [_authorization_alert(recent, baseline, drop, s)]

    async def job_lag(self, uow: UnitOfWork, jobs: JobRunner) -> list[Alert]:
        limit = self.settings.job_lag
        alerts = []
        for status in await jobs.report(uow):
            if status.lag is None or status.lag <= limit:
                continue
            alerts.append(
                Alert(
                    "job_lag",
                    "critical" if status.lag > 6 * limit else "warning",
                    status.name,
                    f"background job {status.name} is {duration(status.lag)} behind: its oldest due item became due "
                    f"at {status.oldest_due.isoformat() if status.oldest_due else '?'} (threshold "
                    f"{duration(limit)})",
                    "check that a server with background work or an `mcp-payments worker` runs against this "
                    "database; list_background_jobs shows the job's last run and failing items",
                    {
                        "lag_seconds": str(round(status.lag.total_seconds())),
                        "threshold_seconds": str(round(limit.total_seconds())),
                        "retrying": str(status.retrying),
                        "parked": str(status.parked),
                    },
                )
            )
        return alerts

    async def tool_errors(self, uow: UnitOfWork) -> list[Alert]:
        s = self.settings
        minutes = max(1, round(s.error_window.total_seconds() / 60))
        rows = await self.metrics.totals(uow, window_start(self.clock.now(), minutes))
        calls: Counter[str] = Counter()
        failed: dict[str, Counter[str]] = {}
        for row in rows:
            calls[row.tool] += row.calls
            if row.outcome in SERVER_FAILURES:
                failed.setdefault(row.tool, Counter())[row.outcome] += row.calls
        alerts = []
        for tool, codes in sorted(failed.items()):
            total, failures = calls[tool], sum(codes.values())
            if total < s.error_min_calls or rate(failures, total) <= s.error_rate:
                continue
            by_code = ", ".join(f"{code} {n}" for code, n in sorted(codes.items()))
            alerts.append(
                Alert(
                    "tool_error_rate",
                    "critical" if rate(failures, total) >= 50 else "warning",
                    tool,
                    f"{tool} failed on the server's side in {failures} of {total} calls "
                    f"({rate(failures, total)}%) in the last {minutes} minutes ({by_code}); threshold "
                    f"{s.error_rate}%",
                    "call get_service_health (database reachable and migrated?) and get_tool_metrics for the "
                    "codes; internal_error incidents are in the server's log under the tool's name",
                    {
                        "calls": str(total),
                        "failures": str(failures),
                        "error_rate_percent": str(rate(failures, total)),
                        "threshold_percent": str(s.error_rate),
                        "window_minutes": str(minutes),
                    },
                )
            )
        return alerts


def _authorization_alert(recent: Authorizations, baseline: Authorizations, drop: Decimal, s: Thresholds) -> Alert:
    now_rate, base_rate = rate(recent.approved, recent.total), rate(baseline.approved, baseline.total)
    return Alert(
        "authorization_rate_drop",
        "critical" if drop >= 2 * s.auth_rate_drop else "warning",
        "payments",
        f"the authorization rate of the last {duration(s.auth_window)} is {now_rate}% ({recent.approved} "
        f"approved of {recent.total}), {drop} points below the 7-day baseline of {base_rate}% ({baseline.approved} "
        f"of {baseline.total}); threshold {s.auth_rate_drop} points",
        "look at the recent declines' codes (list_payments, get_payment) for a common card brand, decline code or "
        "customer; a provider outage shows as provider_unavailable in get_tool_metrics",
        {
            "rate_percent": str(now_rate),
            "baseline_rate_percent": str(base_rate),
            "drop_points": str(drop),
            "threshold_points": str(s.auth_rate_drop),
            "attempts": str(recent.total),
            "baseline_attempts": str(baseline.total),
        },
    )


def duration(span: timedelta) -> str:
    seconds = round(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if (seconds >= size and seconds % size == 0) or seconds >= 10 * size:
            return f"{seconds // size} {unit}" if seconds % size == 0 else f"{seconds / size:.1f} {unit}"
    return f"{seconds} s"
