"""Compliance: the tamper-evident audit trail, its sealing, its witnesses and its checkpoints."""

from __future__ import annotations

from collections.abc import Sequence

from mcp_payments.adapters.signing import Ed25519Signer
from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.server.tools import compliance
from mcp_payments.services import sealing
from mcp_payments.services.compliance import AuditService
from mcp_payments.services.container import Services
from mcp_payments.services.jobs import AnyJob


def wire(services: Services, _settings: Settings) -> None:
    services.add(AuditService(services.cursors, Ed25519Signer(services.secret_key), services.clock))


def jobs(_services: Services) -> Sequence[AnyJob]:
    return (sealing.JOB,)


CATEGORY = Category(toolset="compliance", id_prefixes=("aud",), wire=wire, tools=compliance.register, jobs=jobs)
