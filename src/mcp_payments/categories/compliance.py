"""Compliance: the tamper-evident audit trail, its sealing, its witnesses and its checkpoints; sanctions
screening against versioned lists; fraud scores and alerts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mcp_payments.adapters import sanctions_files
from mcp_payments.adapters.signing import Ed25519Signer
from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools import compliance, risk, screening
from mcp_payments.services import sealing
from mcp_payments.services.compliance import AuditService
from mcp_payments.services.container import Services
from mcp_payments.services.jobs import AnyJob
from mcp_payments.services.ports import Repo
from mcp_payments.services.sanctions import Screening, Thresholds
from mcp_payments.services.sanctions_ports import SANCTIONS

if TYPE_CHECKING:
    from mcp_payments.adapters.db.uow import RepositoryFactory


def repositories() -> Mapping[Repo[Any], RepositoryFactory]:
    from mcp_payments.adapters.db.sanctions_repo import SqlSanctions

    return {SANCTIONS: SqlSanctions}


def wire(services: Services, settings: Settings) -> None:
    services.add(AuditService(services.cursors, Ed25519Signer(services.secret_key), services.clock))
    thresholds = Thresholds(settings.sanctions_review_threshold, settings.sanctions_block_threshold)
    services.add(Screening(services.clock, services.ids, services.calls, thresholds, sanctions_files.builtin))


def tools(box: Toolbox, services: Services) -> None:
    compliance.register(box, services)
    screening.register(box, services)
    risk.register(box, services)  # fraud scoring; wired by the payments category, which scores every payment


def jobs(_services: Services) -> Sequence[AnyJob]:
    return (sealing.JOB,)


CATEGORY = Category(
    toolset="compliance",
    id_prefixes=("aud", "scr", "sls"),
    wire=wire,
    tools=tools,
    jobs=jobs,
    repositories=repositories,
)
