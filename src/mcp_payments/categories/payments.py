"""Payments: customers, the payment lifecycle, refunds, provider events and the sandbox provider."""

from __future__ import annotations

from collections.abc import Sequence

from mcp_payments.adapters.db.payments_repo import SqlCustomers, SqlPayments, SqlProviderEvents
from mcp_payments.adapters.providers.sandbox import SandboxProvider
from mcp_payments.categories import Category
from mcp_payments.config import Settings
from mcp_payments.server import provider_events
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools import customers, payments
from mcp_payments.services.container import Services
from mcp_payments.services.customers import CustomerService
from mcp_payments.services.events import EventService, processed
from mcp_payments.services.jobs import Job
from mcp_payments.services.payments.books import PaymentBooks
from mcp_payments.services.payments.expiry import PaymentExpiry
from mcp_payments.services.payments.lifecycle import Fees, PaymentService
from mcp_payments.services.payments.proceeds import ProceedsService
from mcp_payments.services.payments.provider_events import PaymentEventRouter
from mcp_payments.services.ports import CUSTOMERS, PAYMENTS, PROVIDER_EVENTS


def wire(services: Services, settings: Settings) -> None:
    clock, ids, cursors = services.clock, services.ids, services.cursors
    provider = SandboxProvider(clock, services.secret_key, services.webhook_secrets[0])
    books = PaymentBooks(clock, ids)
    router = PaymentEventRouter(clock, books)
    fees = Fees(settings.fee_percent_bp, settings.fee_fixed_minor)
    services.add(provider)
    services.add(CustomerService(clock, ids, cursors))
    services.add(PaymentService(clock, ids, provider, books, fees, settings.authorization_ttl, cursors=cursors))
    services.add(ProceedsService(clock, ids, books))
    services.add(router)
    services.add(PaymentExpiry(clock, provider, books, settings.action_ttl))
    services.add(EventService(clock, services.webhook_secrets, router))


def tools(box: Toolbox, services: Services) -> None:
    customers.register(box, services)
    payments.register(box, services)
    provider_events.register(box.server, services)


def jobs(services: Services) -> Sequence[Job]:
    calls, expiry, events = services.calls, services.get(PaymentExpiry), services.get(EventService)

    async def expire_payments() -> int:
        due = await calls.background("expire_payments", expiry.expire_due, lambda done: [p.id for p in done])
        return len(due)

    async def retry_provider_events() -> int:
        done: list[str] = await calls.background("retry_provider_events", events.retry_pending, list)
        return len(done)

    async def deliver_provider_events() -> int:
        """The provider's queued events take the same path as events posted to the HTTP endpoint."""
        provider = services.get(SandboxProvider)
        queued = provider.drain_events()
        for done, (body, signature) in enumerate(queued):
            try:
                event = events.verify(body, signature)
                await calls.background(
                    "provider_event",
                    lambda uow, event=event: events.receive(uow, event),  # type: ignore[misc]
                    lambda status, event=event: processed(event, status),  # type: ignore[misc]
                )
            except BaseException:
                # Not lost: what was not delivered goes back to the front of the queue for the next pass.
                provider.requeue_events([b for b, _ in queued[done:]])
                raise
        return len(queued)

    return (
        Job("expire_payments", expire_payments),
        Job("retry_provider_events", retry_provider_events),
        Job("deliver_provider_events", deliver_provider_events),
    )


CATEGORY = Category(
    toolset="payments",
    id_prefixes=("cus", "pay", "ref"),
    wire=wire,
    tools=tools,
    jobs=jobs,
    repositories={CUSTOMERS: SqlCustomers, PAYMENTS: SqlPayments, PROVIDER_EVENTS: SqlProviderEvents},
)
