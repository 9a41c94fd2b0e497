"""Payments: customers, the payment lifecycle, refunds, provider events, the sandbox provider, and the fraud score
of every payment taken (its tools, assess_payment_risk and list_fraud_alerts, are in the compliance toolset)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mcp_payments.adapters.providers.sandbox import SandboxProvider
from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.server import provider_events
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools import customers, payments
from mcp_payments.services.container import Services
from mcp_payments.services.customers import CustomerService
from mcp_payments.services.events import EventService, processed
from mcp_payments.services.jobs import AnyJob, Job
from mcp_payments.services.payments.books import PaymentBooks
from mcp_payments.services.payments.expiry import PaymentExpiry
from mcp_payments.services.payments.lifecycle import Fees, PaymentService
from mcp_payments.services.payments.proceeds import ProceedsService
from mcp_payments.services.payments.provider_events import PaymentEventRouter
from mcp_payments.services.ports import (
    CUSTOMERS,
    PAYMENTS,
    PROVIDER_EVENTS,
    PROVIDER_OUTBOX,
    Claim,
    OutboundEvent,
    Repo,
    UnitOfWork,
)
from mcp_payments.services.risk import FraudScreen
from mcp_payments.services.risk_ports import RISK

if TYPE_CHECKING:
    from mcp_payments.adapters.db.uow import RepositoryFactory


def wire(services: Services, settings: Settings) -> None:
    clock, ids, cursors = services.clock, services.ids, services.cursors
    provider = SandboxProvider(clock, services.secret_key, services.webhook_secrets[0])
    books = PaymentBooks(clock, ids)
    router = PaymentEventRouter(clock, books)
    fees = Fees(settings.fee_percent_bp, settings.fee_fixed_minor)
    services.add(provider)
    services.add(CustomerService(clock, ids, cursors))
    screen = FraudScreen(clock, ids, settings.risk_rules(), cursors)
    services.add(screen)
    services.add(
        PaymentService(clock, ids, provider, books, fees, settings.authorization_ttl, cursors=cursors, risk=screen)
    )
    services.add(ProceedsService(clock, ids, books))
    services.add(router)
    services.add(PaymentExpiry(clock, provider, books, settings.action_ttl))
    services.add(EventService(clock, services.webhook_secrets, router))


def tools(box: Toolbox, services: Services) -> None:
    customers.register(box, services)
    payments.register(box, services)
    provider_events.register(box.server, services)


def jobs(services: Services) -> Sequence[AnyJob]:
    expiry, events, provider = services.get(PaymentExpiry), services.get(EventService), services.get(SandboxProvider)

    async def outbox(uow: UnitOfWork, claim: Claim) -> list[OutboundEvent]:
        return await uow.repo(PROVIDER_OUTBOX).claim(claim)

    async def deliver(uow: UnitOfWork, queued: OutboundEvent) -> list[str]:
        """The sandbox sends a queued event: it takes the path of an event posted to POST /provider/events (the
        signature checked, deduplicated by id, applied), and leaves the outbox in the same transaction."""
        event = events.verify(*provider.signed(queued))
        status = await events.receive(uow, event)
        await uow.repo(PROVIDER_OUTBOX).delivered(queued.id)
        return processed(event, status)

    async def oldest_queued(uow: UnitOfWork, claim: Claim) -> datetime | None:
        return await uow.repo(PROVIDER_OUTBOX).oldest(claim)

    return (
        Job("expire_payments", expiry.due, expiry.expire, lambda p: p.id, expiry.oldest_due),
        Job("retry_provider_events", events.pending, events.retry, lambda e: e.id, events.oldest_pending),
        Job("deliver_provider_events", outbox, deliver, lambda e: e.id, oldest_queued, audit_tool="provider_event"),
    )


def repositories() -> Mapping[Repo[Any], RepositoryFactory]:
    from mcp_payments.adapters.db.outbox_repo import SqlProviderOutbox
    from mcp_payments.adapters.db.payments_repo import SqlCustomers, SqlPayments, SqlProviderEvents
    from mcp_payments.adapters.db.risk_repo import SqlRisk

    return {
        CUSTOMERS: SqlCustomers,
        PAYMENTS: SqlPayments,
        PROVIDER_EVENTS: SqlProviderEvents,
        PROVIDER_OUTBOX: SqlProviderOutbox,
        RISK: SqlRisk,
    }


CATEGORY = Category(
    toolset="payments",
    id_prefixes=("cus", "pay", "ref", "rsk"),
    wire=wire,
    tools=tools,
    jobs=jobs,
    repositories=repositories,
)
