"""Controls: who may call what, and how much they may spend. API keys, the caller's identity, spending policies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools import controls, mandates
from mcp_payments.services.container import Services
from mcp_payments.services.controls import SpendingControls
from mcp_payments.services.keys import KeyService
from mcp_payments.services.mandates import Mandates
from mcp_payments.services.ports import API_KEYS, MANDATES, SPENDING, Repo

if TYPE_CHECKING:
    from mcp_payments.adapters.db.uow import RepositoryFactory


def repositories() -> Mapping[Repo[Any], RepositoryFactory]:
    from mcp_payments.adapters.db.keys_repo import SqlApiKeys
    from mcp_payments.adapters.db.mandates_repo import SqlMandates
    from mcp_payments.adapters.db.spending_repo import SqlSpending

    return {API_KEYS: SqlApiKeys, SPENDING: SqlSpending, MANDATES: SqlMandates}


def wire(services: Services, _settings: Settings) -> None:
    services.add(KeyService(services.clock, services.ids, services.calls))
    granted = Mandates(services.clock, services.ids, services.cursors)
    services.add(granted)
    services.add(SpendingControls(services.clock, granted))


def tools(box: Toolbox, services: Services) -> None:
    controls.register(box, services)
    mandates.register(box, services)


CATEGORY = Category(toolset="controls", id_prefixes=("key", "mdt"), wire=wire, tools=tools, repositories=repositories)
