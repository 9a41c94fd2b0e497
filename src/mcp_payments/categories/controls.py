"""Controls: who may call what, and how much they may spend. API keys, the caller's identity, spending policies,
and the approvals of calls held above approval_above."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools import approvals, controls, mandates
from mcp_payments.services.approvals import Approvals
from mcp_payments.services.container import Services
from mcp_payments.services.controls import SpendingControls
from mcp_payments.services.jobs import AnyJob, Job
from mcp_payments.services.keys import KeyService
from mcp_payments.services.mandates import Mandates
from mcp_payments.services.ports import API_KEYS, APPROVALS, MANDATES, SPENDING, Claim, Repo, UnitOfWork

if TYPE_CHECKING:
    from mcp_payments.adapters.db.uow import RepositoryFactory


def repositories() -> Mapping[Repo[Any], RepositoryFactory]:
    from mcp_payments.adapters.db.approvals_repo import SqlApprovals
    from mcp_payments.adapters.db.keys_repo import SqlApiKeys
    from mcp_payments.adapters.db.mandates_repo import SqlMandates
    from mcp_payments.adapters.db.spending_repo import SqlSpending

    return {API_KEYS: SqlApiKeys, SPENDING: SqlSpending, APPROVALS: SqlApprovals, MANDATES: SqlMandates}


def wire(services: Services, settings: Settings) -> None:
    services.add(KeyService(services.clock, services.ids, services.calls))
    granted = Mandates(services.clock, services.ids, services.cursors)
    services.add(granted)
    services.add(SpendingControls(services.clock, granted))
    services.add(Approvals(services.clock, services.ids, settings.approval_ttl, services.cursors))


def tools(box: Toolbox, services: Services) -> None:
    controls.register(box, services)
    approvals.register(box, services)
    mandates.register(box, services)


def jobs(services: Services) -> Sequence[AnyJob]:
    service = services.get(Approvals)

    async def oldest_expired(uow: UnitOfWork, claim: Claim) -> datetime | None:
        return await service.oldest_expired(uow, claim)

    return (Job("expire_approvals", service.expired, service.expire, lambda a: a.id, oldest_expired),)


CATEGORY = Category(
    toolset="controls",
    id_prefixes=("key", "apr", "mdt"),
    wire=wire,
    tools=tools,
    jobs=jobs,
    repositories=repositories,
)
