"""The dashboard: one read of revenue, authorization, MRR movements, wallets, pending approvals and job health.

`open_dashboard` is the model's way in (an MCP Apps host shows it as the dashboard view, server/views/); the view's
date-range control refetches the same summary through `dashboard_summary`, a tool only the view is shown
(`_meta.ui.visibility: ["app"]`). Both are read tools: the caller's role is checked as for any tool, and the
numbers are those of get_revenue_summary, get_payment_success_rates and get_subscription_metrics for the range,
read in one snapshot by services/views.py, in the payments://dashboard resource's model (server/view_models.py).
"""

from datetime import date

from mcp_payments.server.callers import current_caller
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.analytics import EndDate, StartDate, TimeZone
from mcp_payments.server.view_models import DashboardOut
from mcp_payments.server.views import DASHBOARD
from mcp_payments.services.container import Services
from mcp_payments.services.ports import UnitOfWork
from mcp_payments.services.views import Views


def register(box: Toolbox, app: Services) -> None:
    views = app.get(Views)

    async def summary(uow: UnitOfWork, start: date | None, end: date | None, tz: str) -> DashboardOut:
        return DashboardOut.of(await views.dashboard_summary(uow, current_caller(), start, end, tz))

    @box.query(toolset="analytics", title="Open dashboard")
    async def open_dashboard(
        uow: UnitOfWork, start_date: StartDate = None, end_date: EndDate = None, time_zone: TimeZone = "UTC"
    ) -> DashboardOut:
        """Open the payments dashboard for a date range (default: the last 30 days): revenue per day and currency,
        authorization rate and top decline codes, MRR movements, wallet balances, pending approvals and background
        job health. Hosts with MCP Apps show it as an interactive view; the data is the same either way (and the
        same as the payments://dashboard resource). Call it when the user asks to see the dashboard or how the
        business is doing."""
        return await summary(uow, start_date, end_date, time_zone)

    @box.query(toolset="analytics", title="Dashboard summary")
    async def dashboard_summary(
        uow: UnitOfWork, start_date: StartDate = None, end_date: EndDate = None, time_zone: TimeZone = "UTC"
    ) -> DashboardOut:
        """The dashboard's data for another date range, for the dashboard view's date control (app-only)."""
        return await summary(uow, start_date, end_date, time_zone)

    box.show_in_view("open_dashboard", DASHBOARD)
    box.show_in_view("dashboard_summary", DASHBOARD, visibility=("app",))
