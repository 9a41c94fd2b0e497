"""The services one server process runs, wired once by bootstrap."""

from __future__ import annotations

from dataclasses import dataclass

from mcp_payments.services.calls import CallRunner
from mcp_payments.services.compliance import AuditService
from mcp_payments.services.customers import CustomerService
from mcp_payments.services.events import EventService
from mcp_payments.services.monitoring import MonitoringService
from mcp_payments.services.payments import PaymentService
from mcp_payments.services.ports import Clock, Ids, PaymentProvider, UnitOfWorkFactory
from mcp_payments.services.wallets import WalletService


@dataclass
class Services:
    uow: UnitOfWorkFactory
    clock: Clock
    ids: Ids
    calls: CallRunner
    wallets: WalletService
    monitoring: MonitoringService
    audit: AuditService
    customers: CustomerService
    payments: PaymentService
    events: EventService
    provider: PaymentProvider
    fingerprint_key: bytes
