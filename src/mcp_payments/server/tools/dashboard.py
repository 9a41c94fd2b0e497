"""The dashboard: one read of revenue, authorization, MRR movements, wallets, pending approvals and job health.

`open_dashboard` is the model's way in (an MCP Apps host shows it as the dashboard view, server/views/); the view's
date-range control refetches the same summary through `dashboard_summary`, a tool only the view is shown
(`_meta.ui.visibility: ["app"]`). Both are read tools: the caller's role is checked as for any tool, and the
numbers are those of get_revenue_summary, get_payment_success_rates and get_subscription_metrics for the range.
"""

from datetime import date

from pydantic import BaseModel, Field

from mcp_payments.domain.periods import Granularity
from mcp_payments.domain.roles import Role
from mcp_payments.server.callers import current_caller
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.analytics import (
    EndDate,
    PaymentSuccessRates,
    RevenueSummary,
    StartDate,
    SubscriptionMetrics,
    TimeZone,
)
from mcp_payments.server.tools.approvals import ApprovalOut
from mcp_payments.server.tools.models import Wallet
from mcp_payments.server.tools.monitoring import BackgroundJob
from mcp_payments.server.views import DASHBOARD
from mcp_payments.services.analytics.service import AnalyticsService
from mcp_payments.services.approvals import Approvals
from mcp_payments.services.container import Services
from mcp_payments.services.job_runner import JobRunner
from mcp_payments.services.ports import UnitOfWork
from mcp_payments.services.wallets import WalletService

TOP_DECLINES = 5
SHOWN = 20  # wallets and pending approvals listed on the dashboard; the rest are counted as more
WEEKLY_AFTER_DAYS = 62  # a longer range is bucketed by week, and by month past a year
MONTHLY_AFTER_DAYS = 366


class DashboardSummary(BaseModel):
    start_date: str
    end_date: str
    time_zone: str
    revenue: RevenueSummary = Field(description="As get_revenue_summary answers for the range and granularity.")
    payments: PaymentSuccessRates = Field(description="As get_payment_success_rates answers (top 5 declines).")
    subscriptions: SubscriptionMetrics = Field(description="As get_subscription_metrics answers for the range.")
    wallets: list[Wallet] = Field(description=f"The first {SHOWN} wallets, oldest first.")
    more_wallets: bool
    pending_approvals: list[ApprovalOut] = Field(
        description=f"The {SHOWN} oldest calls waiting for approval that you may see (an operator sees everyone's)."
    )
    more_pending_approvals: bool
    jobs: list[BackgroundJob] = Field(description="As list_background_jobs answers.")


def granularity(start: date, end: date) -> Granularity:
    """Day buckets for up to two months, weeks up to a year, months beyond: a chart of at most ~60 bars."""
    days = (end - start).days + 1
    if days > MONTHLY_AFTER_DAYS:
        return Granularity.MONTH
    return Granularity.WEEK if days > WEEKLY_AFTER_DAYS else Granularity.DAY


def register(box: Toolbox, app: Services) -> None:
    analytics, approvals, wallets = app.get(AnalyticsService), app.get(Approvals), app.get(WalletService)

    async def summary(uow: UnitOfWork, start: date | None, end: date | None, tz: str) -> DashboardSummary:
        q = analytics.question(start, end, tz, None)
        revenue = await analytics.revenue(uow, q, granularity(q.range.first, q.range.last))
        rates = await analytics.success_rates(uow, q, TOP_DECLINES)
        mrr = await analytics.subscriptions(uow, q)
        shown = await wallets.list_wallets(uow, None, SHOWN)
        caller = current_caller()
        whose = None if caller.role.covers(Role.OPERATOR) else caller.principal  # as list_pending_approvals
        waiting = await approvals.pending(uow, whose, None, SHOWN)
        jobs = await app.get(JobRunner).report(uow)
        return DashboardSummary(
            start_date=revenue.start_date,
            end_date=revenue.end_date,
            time_zone=revenue.time_zone,
            revenue=RevenueSummary.model_validate(revenue),
            payments=PaymentSuccessRates.model_validate(rates),
            subscriptions=SubscriptionMetrics.model_validate(mrr),
            wallets=[Wallet.of(a) for a in shown.items],
            more_wallets=shown.next_cursor is not None,
            pending_approvals=[ApprovalOut.of(a) for a in waiting.items],
            more_pending_approvals=waiting.next_cursor is not None,
            jobs=[BackgroundJob.of(s) for s in jobs],
        )

    @box.query(toolset="analytics", title="Open dashboard")
    async def open_dashboard(
        uow: UnitOfWork, start_date: StartDate = None, end_date: EndDate = None, time_zone: TimeZone = "UTC"
    ) -> DashboardSummary:
        """Open the payments dashboard for a date range (default: the last 30 days): revenue over time per
        currency, authorization rate and top decline codes, MRR movements, wallet balances, pending approvals and
        background job health. Hosts with MCP Apps show it as an interactive view; the data is the same either
        way. Call it when the user asks to see the dashboard or how the business is doing."""
        return await summary(uow, start_date, end_date, time_zone)

    @box.query(toolset="analytics", title="Dashboard summary")
    async def dashboard_summary(
        uow: UnitOfWork, start_date: StartDate = None, end_date: EndDate = None, time_zone: TimeZone = "UTC"
    ) -> DashboardSummary:
        """The dashboard's data for another date range, for the dashboard view's date control (app-only)."""
        return await summary(uow, start_date, end_date, time_zone)

    box.show_in_view("open_dashboard", DASHBOARD)
    box.show_in_view("dashboard_summary", DASHBOARD, visibility=("app",))
