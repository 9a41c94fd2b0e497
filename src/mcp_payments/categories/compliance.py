"""Compliance: the tamper-evident audit trail, its sealing, its witnesses and its checkpoints; sanctions
screening against versioned lists, of parties, new customers and new payees; AML monitoring of money movements
and the compliance flags both raise; erasure of a customer's personal data, and retention windows; fraud scores
and alerts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mcp_payments.adapters import sanctions_files
from mcp_payments.adapters.signing import Ed25519Signer
from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.domain.fx import RateTable
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools import compliance, compliance_report, erasure, flags, risk, screening
from mcp_payments.services import retention, sealing
from mcp_payments.services.aml import AmlMonitor
from mcp_payments.services.compliance import AuditService
from mcp_payments.services.compliance_ports import FLAGS
from mcp_payments.services.compliance_report import ComplianceReports
from mcp_payments.services.container import Services
from mcp_payments.services.counterparties import Counterparties
from mcp_payments.services.erasure import Erasure
from mcp_payments.services.erasure_ports import ERASURE
from mcp_payments.services.flags import ComplianceFlags
from mcp_payments.services.jobs import AnyJob
from mcp_payments.services.ports import Repo
from mcp_payments.services.report_ports import REPORT
from mcp_payments.services.sanctions import Screening, Thresholds
from mcp_payments.services.sanctions_ports import SANCTIONS

if TYPE_CHECKING:
    from mcp_payments.adapters.db.uow import RepositoryFactory


def repositories() -> Mapping[Repo[Any], RepositoryFactory]:
    from mcp_payments.adapters.db.compliance_repo import SqlFlags
    from mcp_payments.adapters.db.erasure_repo import SqlErasure
    from mcp_payments.adapters.db.report_repo import SqlReport
    from mcp_payments.adapters.db.sanctions_repo import SqlSanctions

    return {SANCTIONS: SqlSanctions, ERASURE: SqlErasure, FLAGS: SqlFlags, REPORT: SqlReport}


def wire(services: Services, settings: Settings) -> None:
    audit = AuditService(services.cursors, Ed25519Signer(services.secret_key), services.clock)
    services.add(audit)
    services.add(ComplianceReports(audit, settings.aml_rules().large))
    thresholds = Thresholds(settings.sanctions_review_threshold, settings.sanctions_block_threshold)
    screening = Screening(services.clock, services.ids, services.calls, thresholds, sanctions_files.builtin)
    services.add(screening)
    flags = ComplianceFlags(services.clock, services.ids, services.cursors)
    services.add(flags)
    services.add(Counterparties(services.clock, screening, flags, services.secret_key))
    aml = AmlMonitor(services.clock, RateTable(settings.fx_rates), settings.aml_rules(), flags)
    services.add(aml)
    services.watchers.append(aml)  # money moved by background work (a renewal's charge): the same rules
    services.add(Erasure(services.clock))
    windows = retention.Windows(
        settings.screening_retention, settings.spend_record_retention, settings.webhook_delivery_retention
    )
    services.add(windows)


def tools(box: Toolbox, services: Services) -> None:
    compliance.register(box, services)
    compliance_report.register(box, services)
    screening.register(box, services)
    risk.register(box, services)  # fraud scoring; wired by the payments category, which scores every payment
    erasure.register(box, services)
    flags.register(box, services)
    # Every money call of this server: a new payee is screened before it moves, the AML rules see what it moved.
    box.dispatcher.checks.append(services.get(Counterparties))
    box.dispatcher.watchers.append(services.get(AmlMonitor))


def jobs(services: Services) -> Sequence[AnyJob]:
    return (sealing.JOB, *retention.jobs(services.clock, services.get(retention.Windows)))


CATEGORY = Category(
    toolset="compliance",
    id_prefixes=("aud", "scr", "sls", "flg"),
    wire=wire,
    tools=tools,
    jobs=jobs,
    repositories=repositories,
)
