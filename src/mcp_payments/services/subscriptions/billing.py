"""Invoices: issued once per (subscription, period) and paid through the payments core.

An invoice is charged as an off-session payment against the subscription's card, with the payment's ledger
postings and fees. Each attempt is one payment, made in the transaction that locks the invoice and counts
the attempt, so an attempt is never made twice and a paid invoice is never paid again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from mcp_payments.domain.errors import CardDeclined, InvalidStateTransition, InvoiceNotFound
from mcp_payments.domain.money import Money
from mcp_payments.domain.payments import PaymentStatus
from mcp_payments.domain.plan_changes import settle
from mcp_payments.domain.subscriptions import Invoice, InvoiceLine, InvoiceStatus, Plan, Subscription
from mcp_payments.services.notifications.endpoints import publish
from mcp_payments.services.pages import Cursors, Page
from mcp_payments.services.payments.lifecycle import PaymentService
from mcp_payments.services.ports import Clock, Ids, UnitOfWork
from mcp_payments.services.subscriptions.ports import SUBSCRIPTIONS
from mcp_payments.services.subscriptions.webhooks import invoice_collected, invoice_data

# What an off-session charge that needs the customer present (3-D Secure) is recorded as.
AUTHENTICATION_REQUIRED = "authentication_required"


class Billing:
    def __init__(self, clock: Clock, ids: Ids, payments: PaymentService, cursors: Cursors) -> None:
        self.clock = clock
        self.ids = ids
        self.payments = payments
        self.cursors = cursors

    async def issue(
        self, uow: UnitOfWork, subscription: Subscription, plan: Plan, index: int, start: datetime, end: datetime
    ) -> Invoice:
        """The invoice of period `index`: the plan's price for the period and the proration lines waiting for it
        (a credit larger than it owes waits for the next one). The database refuses a second one."""
        repo = uow.repo(SUBSCRIPTIONS)
        pending = tuple(await repo.pending_lines(subscription.id))
        invoice, carried = self.draft(self.ids.new("inv"), subscription, plan, index, start, end, pending)
        # Stored before it is charged: a second invoice for the period is refused here, before any payment.
        await repo.add_invoice(invoice)
        if pending:
            await repo.replace_pending_lines(subscription.id, carried)
        await publish(uow, self.ids, self.clock.now(), "invoice.created", invoice_data(invoice))
        return invoice

    def draft(
        self,
        invoice_id: str,
        subscription: Subscription,
        plan: Plan,
        index: int,
        start: datetime,
        end: datetime,
        pending: tuple[InvoiceLine, ...] = (),
    ) -> tuple[Invoice, tuple[InvoiceLine, ...]]:
        """The invoice period `index` gets (what issue() stores and preview_upcoming_invoice shows), and the
        credit it carries to the next one."""
        line = InvoiceLine("plan", f"{plan.name} ({plan.interval_count} {plan.interval})", plan.amount, start, end)
        lines, carried = settle((line, *pending))
        return self.invoice(invoice_id, subscription, index, start, end, plan.currency, lines), carried

    def invoice(
        self,
        invoice_id: str,
        subscription: Subscription,
        index: int,
        start: datetime,
        end: datetime,
        currency: str,
        lines: tuple[InvoiceLine, ...],
        status: InvoiceStatus = InvoiceStatus.OPEN,
    ) -> Invoice:
        now = self.clock.now()
        return Invoice(
            invoice_id,
            subscription.id,
            subscription.customer_id,
            index,
            start,
            end,
            currency,
            lines,
            status,
            0,
            None,
            None,
            now,
            now,
        )

    async def issue_now(
        self, uow: UnitOfWork, subscription: Subscription, currency: str, lines: tuple[InvoiceLine, ...]
    ) -> Invoice:
        """An invoice between renewals (always_invoice): numbered below zero (-1, -2 ...), so that the one
        invoice per period key still holds for renewals and these never take a period's number."""
        repo = uow.repo(SUBSCRIPTIONS)
        lowest = await repo.lowest_invoice_index(subscription.id)
        index = -1 if lowest is None or lowest >= 0 else lowest - 1
        start, end = min(line.period_start for line in lines), subscription.current_period_end
        invoice = self.invoice(self.ids.new("inv"), subscription, index, start, end, currency, lines)
        await repo.add_invoice(invoice)
        await publish(uow, self.ids, self.clock.now(), "invoice.created", invoice_data(invoice))
        return invoice

    async def collect(self, uow: UnitOfWork, subscription: Subscription, invoice: Invoice) -> Invoice:
        """One payment attempt on an open invoice, locked by the caller; the invoice as it is after it (and its
        webhook: invoice.paid or invoice.payment_failed)."""
        after = await self._attempt(uow, subscription, invoice)
        await invoice_collected(uow, self.ids, self.clock, invoice, after)
        return after

    async def _attempt(self, uow: UnitOfWork, subscription: Subscription, invoice: Invoice) -> Invoice:
        if invoice.status is not InvoiceStatus.OPEN:
            raise InvalidStateTransition(
                f"invoice {invoice.id} is {invoice.status}: only an open invoice can be paid",
                invoice_id=invoice.id,
                status=invoice.status.value,
            )
        now = self.clock.now()
        attempt = invoice.attempts + 1
        if invoice.total == 0:
            paid = replace(invoice, status=InvoiceStatus.PAID, attempts=attempt, next_attempt_at=None, updated_at=now)
            await uow.repo(SUBSCRIPTIONS).update_invoice(paid)
            return paid
        amount = Money.of(invoice.total, invoice.currency)
        description = f"invoice {invoice.id} attempt {attempt}"
        try:
            # The subscription's customer exists: its foreign key holds it.
            payment = await self.payments.charge(
                uow,
                amount,
                subscription.method,
                subscription.customer_id,
                "automatic",
                description,
                customer_exists=True,
            )
        except CardDeclined as declined:
            failed = replace(
                invoice,
                attempts=attempt,
                payment_id=str(declined.details["payment_id"]),
                last_decline_code=str(declined.details["decline_code"]),
                updated_at=now,
            )
            await uow.repo(SUBSCRIPTIONS).update_invoice(failed)
            return failed
        succeeded = payment.status is PaymentStatus.SUCCEEDED
        after = replace(
            invoice,
            status=InvoiceStatus.PAID if succeeded else InvoiceStatus.OPEN,
            next_attempt_at=None if succeeded else invoice.next_attempt_at,
            attempts=attempt,
            payment_id=payment.id,
            last_decline_code=None if succeeded else AUTHENTICATION_REQUIRED,
            updated_at=now,
        )
        await uow.repo(SUBSCRIPTIONS).update_invoice(after)
        return after

    async def get(self, uow: UnitOfWork, invoice_id: str, *, lock: bool = False) -> Invoice:
        invoice = await uow.repo(SUBSCRIPTIONS).get_invoice(invoice_id, lock=lock)
        if invoice is None:
            raise InvoiceNotFound(f"invoice {invoice_id} does not exist: see list_invoices", invoice_id=invoice_id)
        return invoice

    async def search(
        self, uow: UnitOfWork, subscription_id: str | None, customer_id: str | None, cursor: str | None, limit: int
    ) -> Page[Invoice]:
        before = self.cursors.decode_str("invoices", cursor)
        rows = await uow.repo(SUBSCRIPTIONS).invoices(subscription_id, customer_id, before, limit + 1)
        return self.cursors.paginate("invoices", rows, limit, lambda i: i.id)
