"""Analytics: revenue, payment performance, customers, subscriptions and forecasts, read from the database's
aggregates. Its tools are read-only; its rollups (migration 0025) are kept by triggers and compacted by its job."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools import analytics, dashboard
from mcp_payments.services.analytics import rollups
from mcp_payments.services.analytics.ports import ANALYTICS
from mcp_payments.services.analytics.service import AnalyticsService
from mcp_payments.services.container import Services
from mcp_payments.services.jobs import AnyJob
from mcp_payments.services.ports import Repo

if TYPE_CHECKING:
    from mcp_payments.adapters.db.uow import RepositoryFactory


def repositories() -> Mapping[Repo[Any], RepositoryFactory]:
    from mcp_payments.adapters.db.analytics_repo import SqlAnalytics

    return {ANALYTICS: SqlAnalytics}


def wire(services: Services, _settings: Settings) -> None:
    services.add(AnalyticsService(services.clock))


def tools(box: Toolbox, services: Services) -> None:
    analytics.register(box, services)
    dashboard.register(box, services)  # the dashboard view's tools (server/views/)


def jobs(_services: Services) -> Sequence[AnyJob]:
    return (rollups.JOB,)


CATEGORY = Category(
    toolset="analytics",
    id_prefixes=(),
    wire=wire,
    tools=tools,
    jobs=jobs,
    repositories=repositories,
)
