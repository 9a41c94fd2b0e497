"""The one list of categories. Adding a category: its module in categories/, one line here (and its
migration, schemas/, README and tests). Nothing else names the categories."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_payments.categories import (
    Category,
    analytics,
    compliance,
    controls,
    monitoring,
    notifications,
    payments,
    subscriptions,
    wallets,
)
from mcp_payments.config import Settings
from mcp_payments.server.registry import Toolbox
from mcp_payments.services.container import Services
from mcp_payments.services.ports import Repo

if TYPE_CHECKING:
    from mcp_payments.adapters.db.uow import RepositoryFactory

CATEGORIES: tuple[Category, ...] = (
    payments.CATEGORY,
    wallets.CATEGORY,
    monitoring.CATEGORY,
    compliance.CATEGORY,
    controls.CATEGORY,
    subscriptions.CATEGORY,
    analytics.CATEGORY,
    notifications.CATEGORY,
)


def toolsets() -> tuple[str, ...]:
    return tuple(c.toolset for c in CATEGORIES)


def check_toolsets(chosen: frozenset[str] | None) -> None:
    """ValueError naming the toolsets that no category has, and those that exist."""
    unknown = (chosen or frozenset()) - set(toolsets())
    if unknown:
        raise ValueError(f"unknown toolset(s) {', '.join(sorted(unknown))}; choose from {', '.join(toolsets())}")


def repositories() -> dict[Repo[Any], RepositoryFactory]:
    """Every category's repositories (their modules are imported now: call it when the database opens)."""
    return {name: factory for c in CATEGORIES for name, factory in c.repositories().items()}


def wire(services: Services, settings: Settings) -> None:
    """Every category's services first (a category's tools may use another's), then their jobs."""
    for category in CATEGORIES:
        category.wire(services, settings)
    for category in CATEGORIES:
        services.jobs.extend(category.jobs(services))


def register_tools(box: Toolbox, services: Services) -> None:
    for category in CATEGORIES:
        category.tools(box, services)
