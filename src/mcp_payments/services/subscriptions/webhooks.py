"""What subscriptions publish to webhook endpoints (services/notifications): invoices issued, paid or failed, and
subscriptions created or canceled, each in the transaction of the change."""

from __future__ import annotations

from typing import Any

from mcp_payments.domain.subscriptions import Invoice, InvoiceStatus, Subscription
from mcp_payments.services.notifications.endpoints import publish
from mcp_payments.services.ports import Clock, Ids, UnitOfWork


def invoice_data(invoice: Invoice) -> dict[str, Any]:
    return {
        "object": "invoice",
        "id": invoice.id,
        "subscription_id": invoice.subscription_id,
        "customer_id": invoice.customer_id,
        "status": invoice.status.value,
        "total": invoice.total,
        "currency": invoice.currency,
        "period_start": invoice.period_start.isoformat(),
        "period_end": invoice.period_end.isoformat(),
        "attempts": invoice.attempts,
        "payment_id": invoice.payment_id,
        "last_decline_code": invoice.last_decline_code,
    }


def subscription_data(subscription: Subscription) -> dict[str, Any]:
    return {
        "object": "subscription",
        "id": subscription.id,
        "customer_id": subscription.customer_id,
        "plan_id": subscription.plan_id,
        "status": subscription.status.value,
        "current_period_start": subscription.current_period_start.isoformat(),
        "current_period_end": subscription.current_period_end.isoformat(),
        "canceled_at": subscription.canceled_at.isoformat() if subscription.canceled_at else None,
    }


async def invoice_collected(uow: UnitOfWork, ids: Ids, clock: Clock, before: Invoice, after: Invoice) -> None:
    """invoice.paid, or invoice.payment_failed when an attempt left it open."""
    if after.status is InvoiceStatus.PAID and before.status is not InvoiceStatus.PAID:
        await publish(uow, ids, clock.now(), "invoice.paid", invoice_data(after))
    elif after.status is InvoiceStatus.OPEN and after.attempts > before.attempts:
        await publish(uow, ids, clock.now(), "invoice.payment_failed", invoice_data(after))


async def subscription_event(uow: UnitOfWork, ids: Ids, clock: Clock, event: str, subscription: Subscription) -> None:
    await publish(uow, ids, clock.now(), f"subscription.{event}", subscription_data(subscription))
