"""Monitoring: is the service healthy, and does the ledger still add up."""

from __future__ import annotations

from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.server.tools import monitoring
from mcp_payments.services.container import Services
from mcp_payments.services.monitoring import MonitoringService


def wire(services: Services, _settings: Settings) -> None:
    services.add(MonitoringService(services.uow))


CATEGORY = Category(toolset="monitoring", id_prefixes=(), wire=wire, tools=monitoring.register)
