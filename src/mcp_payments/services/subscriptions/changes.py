"""Changes to a running subscription: its plan (prorated by the second), its card, a pause and a resume, and a
cancellation now with the unused time refunded.

A pause stops collection, not the calendar: periods stay contiguous and each period that starts while paused
issues its invoice, voided, kept as a draft or marked uncollectible as the pause says. On resume the drafts are
charged (oldest first); one declined, the subscription is past_due and dunning takes over.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mcp_payments.domain.cards import PaymentMethod
from mcp_payments.domain.errors import InvalidInput, InvalidStateTransition, PlanChangeDeclined
from mcp_payments.domain.money import AmountInput, Money
from mcp_payments.domain.plan_changes import ProrationBehavior, check_change, proration_lines
from mcp_payments.domain.subscriptions import (
    RENEWING,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PauseCollection,
    Plan,
    Subscription,
    SubscriptionAction,
    SubscriptionStatus,
    prorate,
)
from mcp_payments.services.payments.lifecycle import PaymentService
from mcp_payments.services.ports import Claim, Clock, UnitOfWork
from mcp_payments.services.subscriptions.lifecycle import SubscriptionService
from mcp_payments.services.subscriptions.ports import SUBSCRIPTIONS

S, A = SubscriptionStatus, SubscriptionAction
MAX_PAUSE = timedelta(days=731)  # a scheduled resume at most two years ahead


@dataclass(frozen=True, slots=True)
class PlanChanged:
    subscription: Subscription
    plan: Plan
    proration: tuple[InvoiceLine, ...]  # the lines the change made (none during a trial or with `none`)
    invoice: Invoice | None  # always_invoice: the invoice issued and paid now


@dataclass(frozen=True, slots=True)
class Resumed:
    subscription: Subscription
    invoices: tuple[Invoice, ...]  # the drafts kept while paused, as their charge left them


@dataclass(frozen=True, slots=True)
class Canceled:
    subscription: Subscription
    refund: Money | None  # the unused time of the paid period, refunded (prorate=True)
    refund_id: str | None


class SubscriptionChanges:
    def __init__(self, clock: Clock, lifecycle: SubscriptionService, payments: PaymentService) -> None:
        self.clock = clock
        self.lifecycle = lifecycle
        self.payments = payments

    async def proration(
        self, uow: UnitOfWork, subscription: Subscription, plan_id: str, behavior: ProrationBehavior
    ) -> tuple[Plan, Plan, tuple[InvoiceLine, ...]]:
        """The current and new plans and the lines a change now would make (checked, nothing written)."""
        if subscription.status not in RENEWING:
            raise InvalidStateTransition(
                f"subscription {subscription.id} is {subscription.status}: only a trialing, active or past_due "
                "subscription can change plan",
                subscription_id=subscription.id,
                status=subscription.status.value,
            )
        old = await self.lifecycle.plans.get(uow, subscription.plan_id)
        new = await self.lifecycle.plans.get(uow, plan_id)
        check_change(old, new, subscription.id)
        now = self._now()
        start, end = subscription.current_period_start, subscription.current_period_end
        if now >= end:
            raise InvalidStateTransition(
                f"subscription {subscription.id}'s period ended at {end.isoformat()} and its renewal has not run "
                "yet: try again in a moment",
                subscription_id=subscription.id,
            )
        if subscription.status is S.TRIALING or behavior is ProrationBehavior.NONE:
            return old, new, ()  # nothing was charged for a trial: the new price simply applies from its end
        return old, new, proration_lines(old, new, start, end, max(now, start))

    async def change_plan(
        self, uow: UnitOfWork, subscription_id: str, plan_id: str, behavior: ProrationBehavior
    ) -> PlanChanged:
        """Move the subscription to another plan now, crediting the old price's unused time and charging the new
        one's remaining time: on the next invoice, on none, or on an invoice charged now."""
        subscription = await self.lifecycle.get(uow, subscription_id, lock=True)
        _, unused_plan, lines = await self.proration(uow, subscription, plan_id, behavior)
        repo = uow.repo(SUBSCRIPTIONS)
        await repo.mark_plan_used(unused_plan.id)  # its price is fixed from now on
        new = replace(unused_plan, used=True)
        changed = replace(subscription, plan_id=new.id, updated_at=self._now())
        await repo.update(changed)
        if behavior is ProrationBehavior.ALWAYS_INVOICE and sum(line.amount for line in lines) > 0:
            invoice = await self.lifecycle.billing.issue_now(uow, changed, new.currency, lines)
            invoice = await self.lifecycle.billing.collect(uow, changed, invoice)
            if invoice.status is not InvoiceStatus.PAID:
                total = Money.of(invoice.total, invoice.currency)
                raise PlanChangeDeclined(
                    f"the proration invoice of {total} could not be charged ({invoice.last_decline_code}): the plan "
                    "was not changed; give the subscription a working card with update_subscription, or pass "
                    "proration_behavior create_prorations to put the proration on the next invoice",
                    subscription_id=subscription.id,
                    decline_code=invoice.last_decline_code,
                )
            return PlanChanged(changed, new, lines, invoice)
        # create_prorations, and always_invoice when the change owes nothing: a net credit waits for the next invoice
        await repo.add_pending_lines(subscription.id, lines)
        return PlanChanged(changed, new, lines, None)

    async def set_payment_method(self, uow: UnitOfWork, subscription_id: str, method: PaymentMethod) -> Subscription:
        """The card later charges use: the renewals, the dunning retries and pay_invoice."""
        subscription = await self.lifecycle.get(uow, subscription_id, lock=True)
        if subscription.status in (S.CANCELED, S.INCOMPLETE_EXPIRED):
            raise InvalidStateTransition(
                f"subscription {subscription.id} is {subscription.status}: it is never charged again",
                subscription_id=subscription.id,
                status=subscription.status.value,
            )
        updated = replace(subscription, method=method, updated_at=self._now())
        await uow.repo(SUBSCRIPTIONS).update(updated)
        return updated

    async def pause(
        self, uow: UnitOfWork, subscription_id: str, collection: PauseCollection, resumes_at: datetime | None
    ) -> Subscription:
        subscription = await self.lifecycle.get(uow, subscription_id, lock=True)
        now = self._now()
        if resumes_at is not None and not now < resumes_at <= now + MAX_PAUSE:
            raise InvalidInput(
                f"resumes_at must be after now ({now.isoformat()}) and at most two years ahead, or omitted to resume "
                "with resume_subscription",
                resumes_at=resumes_at.isoformat(),
            )
        paused = replace(subscription.moved(A.PAUSE, now), pause_collection=collection, resumes_at=resumes_at)
        await uow.repo(SUBSCRIPTIONS).update(paused)
        return paused

    async def resume(self, uow: UnitOfWork, subscription_id: str) -> Resumed:
        """Resume a paused subscription (its drafts are charged now), or undo a cancellation at period end."""
        subscription = await self.lifecycle.get(uow, subscription_id, lock=True)
        if subscription.status is not S.PAUSED:
            return Resumed(await self.lifecycle.keep(uow, subscription_id), ())
        return await self._resumed(uow, subscription)

    async def resume_due(self, uow: UnitOfWork, due: Subscription) -> list[str]:
        """Due work: a paused subscription whose resumes_at has come."""
        resumed = await self._resumed(uow, due)
        return [due.id, *(i.id for i in resumed.invoices), *(i.payment_id for i in resumed.invoices if i.payment_id)]

    async def due_resumes(self, uow: UnitOfWork, claim: Claim) -> list[Subscription]:
        return await uow.repo(SUBSCRIPTIONS).claim_resumes(claim)

    async def oldest_resume(self, uow: UnitOfWork, claim: Claim) -> datetime | None:
        return await uow.repo(SUBSCRIPTIONS).oldest_resume(claim)

    async def _resumed(self, uow: UnitOfWork, paused: Subscription) -> Resumed:
        now = self.clock.now()
        repo = uow.repo(SUBSCRIPTIONS)
        subscription = paused.moved(A.RESUME, now)
        await repo.update(subscription)
        drafts = [i for i in await repo.invoices(paused.id, None, None, 100) if i.status is InvoiceStatus.DRAFT]
        charged: list[Invoice] = []
        for draft in sorted(drafts, key=lambda i: i.period_index):
            invoice = replace(draft, status=InvoiceStatus.OPEN, updated_at=now)
            await repo.update_invoice(invoice)
            if subscription.status is S.ACTIVE:
                invoice = await self.lifecycle.billing.collect(uow, subscription, invoice)
                if invoice.status is not InvoiceStatus.PAID:
                    failing = subscription.moved(A.FAIL, now)
                    subscription = await self.lifecycle.after_failure(uow, failing, invoice, now)
                    invoice = await self.lifecycle.billing.get(uow, invoice.id)
            else:  # past_due after an earlier draft's decline: dunning retries this one too
                await repo.update_invoice(replace(invoice, next_attempt_at=now))
            charged.append(invoice)
        return Resumed(subscription, tuple(charged))

    async def cancel(
        self, uow: UnitOfWork, subscription_id: str, at_period_end: bool, prorate_refund: bool
    ) -> Canceled:
        """Cancel now or at the period's end; now with prorate_refund, the paid period's unused time is refunded
        to the card (by the second, rounded half to even)."""
        if at_period_end and prorate_refund:
            raise InvalidInput(
                "prorate applies to a cancellation now: a subscription canceled at period end uses all it paid for",
            )
        before = await self.lifecycle.get(uow, subscription_id, lock=True)
        unused = await self.unused(uow, before) if prorate_refund else None
        canceled = await self.lifecycle.cancel(uow, subscription_id, at_period_end)
        if at_period_end:
            return Canceled(canceled, None, None)
        await uow.repo(SUBSCRIPTIONS).replace_pending_lines(before.id, ())  # the period's rest is never invoiced
        if unused is None:
            return Canceled(canceled, None, None)
        payment_id, amount = unused
        result = await self.payments.refund(
            uow, payment_id, AmountInput(None, amount.minor), f"unused time of subscription {before.id}"
        )
        return Canceled(canceled, amount, result.refund.id)

    async def unused(self, uow: UnitOfWork, subscription: Subscription) -> tuple[str, Money] | None:
        """The payment of the current period and what a cancellation now refunds of it; None: nothing."""
        if subscription.status not in (S.ACTIVE, S.PAST_DUE, S.PAUSED):
            return None
        repo = uow.repo(SUBSCRIPTIONS)
        paid = [
            i
            for i in await repo.invoices(subscription.id, None, None, 100)
            if i.period_index == subscription.period_index and i.status is InvoiceStatus.PAID and i.payment_id
        ]
        if not paid or (payment_id := paid[0].payment_id) is None:
            return None
        invoice, plan = paid[0], await self.lifecycle.plans.get(uow, subscription.plan_id)
        pending = sum(line.amount for line in await repo.pending_lines(subscription.id))
        start, end = subscription.current_period_start, subscription.current_period_end
        # What was paid for the unused time on the price in force, less what the period's plan changes still owe
        # (a net credit waiting for the next invoice is returned here instead).
        amount = min(prorate(plan.amount, start, end, min(max(self._now(), start), end)) - pending, invoice.total)
        return None if amount <= 0 else (payment_id, Money.of(amount, invoice.currency))

    async def drafts_owed(self, uow: UnitOfWork, subscription: Subscription) -> int:
        """What resuming charges now: the drafts kept while paused."""
        if subscription.status is not S.PAUSED:
            return 0
        invoices = await uow.repo(SUBSCRIPTIONS).invoices(subscription.id, None, None, 100)
        return sum(i.total for i in invoices if i.status is InvoiceStatus.DRAFT)

    def _now(self) -> datetime:
        return self.clock.now().replace(microsecond=0)  # periods and proration count whole seconds
