"""Controls: who may call what. API keys and the caller's identity now; spending policies and approvals next."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.server.tools import controls
from mcp_payments.services.container import Services
from mcp_payments.services.keys import KeyService
from mcp_payments.services.ports import API_KEYS, Repo

if TYPE_CHECKING:
    from mcp_payments.adapters.db.uow import RepositoryFactory


def repositories() -> Mapping[Repo[Any], RepositoryFactory]:
    from mcp_payments.adapters.db.keys_repo import SqlApiKeys

    return {API_KEYS: SqlApiKeys}


def wire(services: Services, _settings: Settings) -> None:
    services.add(KeyService(services.clock, services.ids, services.calls))


CATEGORY = Category(
    toolset="controls", id_prefixes=("key",), wire=wire, tools=controls.register, repositories=repositories
)
