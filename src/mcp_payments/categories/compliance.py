"""Compliance: the tamper-evident audit trail, its sealing, its witnesses and its checkpoints; sanctions
screening against versioned lists; erasure of a customer's personal data, and retention windows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mcp_payments.adapters import sanctions_files
from mcp_payments.adapters.signing import Ed25519Signer
from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools import compliance, erasure, screening
from mcp_payments.services import retention, sealing
from mcp_payments.services.compliance import AuditService
from mcp_payments.services.container import Services
from mcp_payments.services.erasure import Erasure
from mcp_payments.services.erasure_ports import ERASURE
from mcp_payments.services.jobs import AnyJob
from mcp_payments.services.ports import Repo
from mcp_payments.services.sanctions import Screening, Thresholds
from mcp_payments.services.sanctions_ports import SANCTIONS

if TYPE_CHECKING:
    from mcp_payments.adapters.db.uow import RepositoryFactory


def repositories() -> Mapping[Repo[Any], RepositoryFactory]:
    from mcp_payments.adapters.db.erasure_repo import SqlErasure
    from mcp_payments.adapters.db.sanctions_repo import SqlSanctions

    return {SANCTIONS: SqlSanctions, ERASURE: SqlErasure}


def wire(services: Services, settings: Settings) -> None:
    services.add(AuditService(services.cursors, Ed25519Signer(services.secret_key), services.clock))
    thresholds = Thresholds(settings.sanctions_review_threshold, settings.sanctions_block_threshold)
    services.add(Screening(services.clock, services.ids, services.calls, thresholds, sanctions_files.builtin))
    services.add(Erasure(services.clock))
    windows = retention.Windows(
        settings.screening_retention, settings.spend_record_retention, settings.webhook_delivery_retention
    )
    services.add(windows)


def tools(box: Toolbox, services: Services) -> None:
    compliance.register(box, services)
    screening.register(box, services)
    erasure.register(box, services)


def jobs(services: Services) -> Sequence[AnyJob]:
    return (sealing.JOB, *retention.jobs(services.clock, services.get(retention.Windows)))


CATEGORY = Category(
    toolset="compliance",
    id_prefixes=("aud", "scr", "sls"),
    wire=wire,
    tools=tools,
    jobs=jobs,
    repositories=repositories,
)
