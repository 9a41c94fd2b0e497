"""The dashboard: one read of revenue, authorization, MRR movements, wallets, pending approvals and job health.

`open_dashboard` is the model's way in (an MCP Apps host shows it as the dashboard view, server/views/); the view's
date-range control refetches the same summary through `dashboard_summary`, a tool only the view is shown
(`_meta.ui.visibility: ["app"]`). Both are read tools: the caller's role is checked as for any tool, and the
numbers are those of get_revenue_summary, get_payment_success_rates and get_subscription_metrics for the range.
"""

from datetime import date

from pydantic import BaseModel, Field

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
from mcp_payments.server.tools.models import MoneyOut, Wallet
from mcp_payments.server.tools.monitoring import BackgroundJob
from mcp_payments.server.views import DASHBOARD
from mcp_payments.services import views as v
from mcp_payments.services.container import Services
from mcp_payments.services.ports import UnitOfWork


class WalletTotalOut(BaseModel):
    currency: str
    wallets: int
    posted: MoneyOut
    pending: MoneyOut
    available: MoneyOut

    @classmethod
    def of(cls, t: v.WalletTotal) -> "WalletTotalOut":
        def money(minor: int) -> MoneyOut:
            return MoneyOut.of(minor, t.currency)

        return cls(
            currency=t.currency,
            wallets=t.wallets,
            posted=money(t.posted),
            pending=money(t.pending),
            available=money(t.available),
        )


class JobsHealthOut(BaseModel):
    most_lagging: str | None = Field(description="The job furthest behind; null when nothing is due.")
    lag_seconds: float
    last_run_at: str | None
    parked_items: int = Field(description="Items that failed too often and are no longer tried, over every job.")


class DashboardSummary(BaseModel):
    start_date: str
    end_date: str
    time_zone: str
    revenue: RevenueSummary = Field(description="As get_revenue_summary answers for the range, per day.")
    payments: PaymentSuccessRates = Field(description="As get_payment_success_rates answers (top 5 declines).")
    subscriptions: SubscriptionMetrics = Field(description="As get_subscription_metrics answers for the range.")
    wallets: list[Wallet] = Field(description=f"The first {v.DASHBOARD_WALLETS} wallets.")
    total_wallets: int
    wallet_totals: list[WalletTotalOut] = Field(description="Every wallet's balances added up, per currency.")
    pending_approvals: list[ApprovalOut] = Field(
        description=f"The {v.DASHBOARD_APPROVALS} oldest calls waiting for approval that you may see (an operator "
        "or admin sees everyone's, anyone else only their own)."
    )
    pending_approvals_count: int = Field(description="How many of those you may see are pending in all.")
    jobs: list[BackgroundJob] = Field(description="As list_background_jobs answers.")
    jobs_health: JobsHealthOut

    @classmethod
    def of(cls, d: v.DashboardSummary) -> "DashboardSummary":
        h = d.jobs_health
        return cls(
            start_date=d.start_date,
            end_date=d.end_date,
            time_zone=d.time_zone,
            revenue=RevenueSummary.model_validate(d.revenue),
            payments=PaymentSuccessRates.model_validate(d.success),
            subscriptions=SubscriptionMetrics.model_validate(d.subscriptions),
            wallets=[Wallet.of(a) for a in d.balances.wallets],
            total_wallets=d.balances.total_wallets,
            wallet_totals=[WalletTotalOut.of(t) for t in d.balances.totals],
            pending_approvals=[ApprovalOut.of(a) for a in d.approvals.approvals],
            pending_approvals_count=d.pending_approvals,
            jobs=[BackgroundJob.of(s) for s in d.jobs],
            jobs_health=JobsHealthOut(
                most_lagging=h.most_lagging,
                lag_seconds=h.lag_seconds,
                last_run_at=h.last_run_at.isoformat() if h.last_run_at else None,
                parked_items=h.parked_items,
            ),
        )


def register(box: Toolbox, app: Services) -> None:
    views = app.get(v.Views)

    async def summary(uow: UnitOfWork, start: date | None, end: date | None, tz: str) -> DashboardSummary:
        return DashboardSummary.of(await views.dashboard_summary(uow, current_caller(), start, end, tz))

    @box.query(toolset="analytics", title="Open dashboard")
    async def open_dashboard(
        uow: UnitOfWork, start_date: StartDate = None, end_date: EndDate = None, time_zone: TimeZone = "UTC"
    ) -> DashboardSummary:
        """Open the payments dashboard for a date range (default: the last 30 days): revenue per day and currency,
        authorization rate and top decline codes, MRR movements, wallet balances, pending approvals and background
        job health. Hosts with MCP Apps show it as an interactive view; the data is the same either way. Call it
        when the user asks to see the dashboard or how the business is doing."""
        return await summary(uow, start_date, end_date, time_zone)

    @box.query(toolset="analytics", title="Dashboard summary")
    async def dashboard_summary(
        uow: UnitOfWork, start_date: StartDate = None, end_date: EndDate = None, time_zone: TimeZone = "UTC"
    ) -> DashboardSummary:
        """The dashboard's data for another date range, for the dashboard view's date control (app-only)."""
        return await summary(uow, start_date, end_date, time_zone)

    box.show_in_view("open_dashboard", DASHBOARD)
    box.show_in_view("dashboard_summary", DASHBOARD, visibility=("app",))
