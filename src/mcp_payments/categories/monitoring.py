"""Monitoring: is the service healthy, how are the tools doing, and does the ledger still add up."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.server.tools import monitoring
from mcp_payments.services.alerts import Alerts, Thresholds
from mcp_payments.services.call_stats import CallStats
from mcp_payments.services.container import Services
from mcp_payments.services.monitoring import MonitoringService
from mcp_payments.services.monitoring_ports import MONITORING
from mcp_payments.services.ports import Repo
from mcp_payments.services.tool_metrics import ToolMetrics

if TYPE_CHECKING:
    from mcp_payments.adapters.db.uow import RepositoryFactory


def repositories() -> Mapping[Repo[Any], RepositoryFactory]:
    from mcp_payments.adapters.db.monitoring_repo import SqlMonitoring

    return {MONITORING: SqlMonitoring}


def wire(services: Services, settings: Settings) -> None:
    services.add(MonitoringService(services.uow, services.clock))
    metrics = ToolMetrics(services.get(CallStats), services.clock)
    services.add(metrics)
    thresholds = Thresholds(
        settings.alert_auth_window,
        settings.alert_auth_rate_drop,
        settings.alert_auth_min_attempts,
        settings.alert_job_lag,
        settings.alert_error_window,
        settings.alert_error_rate,
        settings.alert_error_min_calls,
    )
    services.add(Alerts(thresholds, services.clock, metrics))


CATEGORY = Category(
    toolset="monitoring", id_prefixes=(), wire=wire, tools=monitoring.register, repositories=repositories
)
