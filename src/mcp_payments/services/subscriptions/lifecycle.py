"""The subscription lifecycle: subscribe a customer, renew each period, expire an unpaid first invoice.

A subscription with a trial starts trialing until the trial ends; the billing anchor is the trial's end.
Without one, the anchor is the start and the first period's invoice is charged at once: paid, the
subscription is active; declined, it is incomplete (and incomplete_expired when still unpaid 23 h later).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mcp_payments.domain.cards import PaymentMethod
from mcp_payments.domain.errors import CustomerNotFound, InvalidStateTransition, SubscriptionNotFound
from mcp_payments.domain.subscriptions import (
    INCOMPLETE_TTL,
    RENEWING,
    SUBSCRIPTION_TRANSITIONS,
    TERMINAL,
    Dunning,
    Invoice,
    InvoiceStatus,
    PauseCollection,
    Plan,
    Subscription,
    SubscriptionAction,
    SubscriptionStatus,
    period_boundary,
)
from mcp_payments.services.pages import Cursors, Page
from mcp_payments.services.ports import CUSTOMERS, Claim, Clock, Ids, UnitOfWork
from mcp_payments.services.subscriptions.billing import Billing
from mcp_payments.services.subscriptions.plans import PlanService
from mcp_payments.services.subscriptions.ports import SUBSCRIPTIONS, SubscriptionFilter
from mcp_payments.services.subscriptions.webhooks import subscription_event

S, A = SubscriptionStatus, SubscriptionAction


@dataclass(frozen=True, slots=True)
class Subscribed:
    subscription: Subscription
    plan: Plan
    invoice: Invoice | None  # the first period's, unless the subscription starts with a trial


class SubscriptionService:
    def __init__(
        self,
        clock: Clock,
        ids: Ids,
        plans: PlanService,
        billing: Billing,
        cursors: Cursors,
        dunning: Dunning | None = None,
    ) -> None:
        self.clock = clock
        self.dunning = dunning or Dunning()
        self.ids = ids
        self.plans = plans
        self.billing = billing
        self.cursors = cursors

    async def create(
        self, uow: UnitOfWork, customer_id: str, plan_id: str, method: PaymentMethod, trial_days: int | None
    ) -> Subscribed:
        if await uow.repo(CUSTOMERS).get(customer_id) is None:
            raise CustomerNotFound(
                f"customer {customer_id} does not exist: create it with create_customer", customer_id=customer_id
            )
        plan = await self.plans.get(uow, plan_id)
        await uow.repo(SUBSCRIPTIONS).mark_plan_used(plan.id)  # its price is fixed from now on
        now = self.clock.now().replace(microsecond=0)  # periods and proration count whole seconds
        trial = plan.trial_days if trial_days is None else trial_days
        sub_id = self.ids.new("sub")
        if trial > 0:
            trial_end = now + timedelta(days=trial)
            trialing = Subscription(
                sub_id, customer_id, plan.id, S.TRIALING, trial_end, -1, now, trial_end, trial_end, method, now, now
            )
            await uow.repo(SUBSCRIPTIONS).add(trialing)
            await subscription_event(uow, self.ids, self.clock, "created", trialing)
            return Subscribed(trialing, plan, None)
        end = period_boundary(now, plan.interval, plan.interval_count, 1)
        incomplete = Subscription(sub_id, customer_id, plan.id, S.INCOMPLETE, now, 0, now, end, None, method, now, now)
        await uow.repo(SUBSCRIPTIONS).add(incomplete)
        await subscription_event(uow, self.ids, self.clock, "created", incomplete)
        invoice = await self.billing.issue(uow, incomplete, plan, 0, now, end)
        invoice = await self.billing.collect(uow, incomplete, invoice)
        subscription = incomplete
        if invoice.status is InvoiceStatus.PAID:
            subscription = incomplete.moved(A.PAY, now)
            await uow.repo(SUBSCRIPTIONS).update(subscription)
        return Subscribed(subscription, plan, invoice)

    async def get(self, uow: UnitOfWork, subscription_id: str, *, lock: bool = False) -> Subscription:
        subscription = await uow.repo(SUBSCRIPTIONS).get(subscription_id, lock=lock)
        if subscription is None:
            raise SubscriptionNotFound(
                f"subscription {subscription_id} does not exist: see list_subscriptions",
                subscription_id=subscription_id,
            )
        return subscription

    async def search(
        self, uow: UnitOfWork, where: SubscriptionFilter, cursor: str | None, limit: int
    ) -> Page[Subscription]:
        rows = await uow.repo(SUBSCRIPTIONS).search(where, self.cursors.decode_str("subscriptions", cursor), limit + 1)
        return self.cursors.paginate("subscriptions", rows, limit, lambda s: s.id)

    async def pay_invoice(self, uow: UnitOfWork, invoice_id: str) -> tuple[Invoice, Subscription]:
        """Try to collect an open invoice now; paid, its subscription is active again."""
        # The subscription is locked before the invoice, in the order the due work locks them.
        unlocked = await self.billing.get(uow, invoice_id)
        subscription = await self.get(uow, unlocked.subscription_id, lock=True)
        invoice = await self.billing.get(uow, invoice_id, lock=True)
        if subscription.status in TERMINAL:
            raise InvalidStateTransition(
                f"subscription {subscription.id} is {subscription.status}: its invoices are no longer collected",
                subscription_id=subscription.id,
                status=subscription.status.value,
            )
        invoice = await self.billing.collect(uow, subscription, invoice)
        if invoice.status is InvoiceStatus.PAID and (subscription.status, A.PAY) in SUBSCRIPTION_TRANSITIONS:
            subscription = subscription.moved(A.PAY, self.clock.now())
            await uow.repo(SUBSCRIPTIONS).update(subscription)
        return invoice, subscription

    async def cancel(self, uow: UnitOfWork, subscription_id: str, at_period_end: bool) -> Subscription:
        """Cancel now (its open invoices are voided: nothing more is collected), or at the period's end."""
        subscription = await self.get(uow, subscription_id, lock=True)
        now = self.clock.now()
        if at_period_end:
            scheduled = subscription.with_cancellation_scheduled(True, now)
            await uow.repo(SUBSCRIPTIONS).update(scheduled)
            return scheduled
        canceled = subscription.moved(A.CANCEL, now)
        await uow.repo(SUBSCRIPTIONS).update(canceled)
        await subscription_event(uow, self.ids, self.clock, "canceled", canceled)
        await self._void_open_invoices(uow, canceled, now)
        return canceled

    async def keep(self, uow: UnitOfWork, subscription_id: str) -> Subscription:
        """Undo a cancellation scheduled for the period's end: the subscription renews again."""
        subscription = await self.get(uow, subscription_id, lock=True)
        if not subscription.cancel_at_period_end:
            raise InvalidStateTransition(
                f"subscription {subscription.id} is {subscription.status} with no cancellation scheduled: "
                "there is nothing to resume",
                subscription_id=subscription.id,
                status=subscription.status.value,
            )
        kept = subscription.with_cancellation_scheduled(False, self.clock.now())
        await uow.repo(SUBSCRIPTIONS).update(kept)
        return kept

    async def upcoming(self, uow: UnitOfWork, subscription_id: str) -> Invoice:
        """The invoice the next renewal will issue, exactly (not stored: its id is empty)."""
        subscription = await self.get(uow, subscription_id)
        if subscription.status not in RENEWING or subscription.cancel_at_period_end:
            ending = "ends at the period's end" if subscription.cancel_at_period_end else f"is {subscription.status}"
            raise InvalidStateTransition(
                f"subscription {subscription.id} {ending}: it has no upcoming invoice",
                subscription_id=subscription.id,
                status=subscription.status.value,
            )
        plan = await self.plans.get(uow, subscription.plan_id)
        index, anchor = subscription.period_index + 1, subscription.anchor
        start = period_boundary(anchor, plan.interval, plan.interval_count, index)
        end = period_boundary(anchor, plan.interval, plan.interval_count, index + 1)
        pending = tuple(await uow.repo(SUBSCRIPTIONS).pending_lines(subscription.id))
        return self.billing.draft("", subscription, plan, index, start, end, pending)[0]

    # Due work: each handles one claimed (locked) subscription and returns the ids it changed.

    async def renew(self, uow: UnitOfWork, due: Subscription) -> list[str]:
        """Start the next period: its invoice (one per period, by the database's unique key), charged at once.
        Paid, the subscription is active; declined, past_due."""
        now = self.clock.now()
        if due.cancel_at_period_end:
            canceled = due.moved(A.CANCEL, now)
            await uow.repo(SUBSCRIPTIONS).update(canceled)
            await subscription_event(uow, self.ids, self.clock, "canceled", canceled)
            return [due.id, *await self._void_open_invoices(uow, canceled, now)]
        plan = await self.plans.get(uow, due.plan_id, cached=True)
        index = due.period_index + 1
        start = period_boundary(due.anchor, plan.interval, plan.interval_count, index)
        end = period_boundary(due.anchor, plan.interval, plan.interval_count, index + 1)
        renewed = replace(due, period_index=index, current_period_start=start, current_period_end=end)
        invoice = await self.billing.issue(uow, renewed, plan, index, start, end)
        if due.status is S.PAUSED:
            return [due.id, *await self._paused_period(uow, renewed, invoice, now)]
        invoice = await self.billing.collect(uow, renewed, invoice)
        if invoice.status is InvoiceStatus.PAID:
            await uow.repo(SUBSCRIPTIONS).update(renewed.moved(A.PAY, now))
        else:
            await self._failed(uow, renewed.moved(A.FAIL, now), invoice, now)
        return [due.id, invoice.id, *([invoice.payment_id] if invoice.payment_id else [])]

    async def retry(self, uow: UnitOfWork, due: Subscription) -> list[str]:
        """Dunning: try a past_due subscription's due invoices again. One paid, it is active again."""
        now = self.clock.now()
        subscription, changed = due, [due.id]
        for invoice in await uow.repo(SUBSCRIPTIONS).due_invoices(due.id, now):
            if subscription.status is not S.PAST_DUE:
                break
            invoice = await self.billing.collect(uow, subscription, invoice)
            changed += [invoice.id, *([invoice.payment_id] if invoice.payment_id else [])]
            if invoice.status is InvoiceStatus.PAID:
                subscription = subscription.moved(A.PAY, now)
                await uow.repo(SUBSCRIPTIONS).update(subscription)
            else:
                subscription = await self._failed(uow, subscription.moved(A.FAIL, now), invoice, now)
        return changed

    async def _paused_period(self, uow: UnitOfWork, paused: Subscription, invoice: Invoice, now: datetime) -> list[str]:
        """A period that starts while paused: its invoice is not charged but voided, kept as a draft (charged on
        resume) or marked uncollectible, as the pause said."""
        status = {
            PauseCollection.VOID: InvoiceStatus.VOID,
            PauseCollection.KEEP_AS_DRAFT: InvoiceStatus.DRAFT,
            PauseCollection.MARK_UNCOLLECTIBLE: InvoiceStatus.UNCOLLECTIBLE,
            None: InvoiceStatus.VOID,
        }[paused.pause_collection]
        await uow.repo(SUBSCRIPTIONS).update_invoice(replace(invoice, status=status, updated_at=now))
        await uow.repo(SUBSCRIPTIONS).update(replace(paused, updated_at=now))
        return [invoice.id]

    async def after_failure(
        self, uow: UnitOfWork, past_due: Subscription, invoice: Invoice, now: datetime
    ) -> Subscription:
        """A failed try of a renewal invoice, as the due work handles one (for pay-on-resume)."""
        return await self._failed(uow, past_due, invoice, now)

    async def _failed(self, uow: UnitOfWork, past_due: Subscription, invoice: Invoice, now: datetime) -> Subscription:
        """After a failed try of a renewal invoice: its next try by the schedule, or, after the last one (or a
        hard decline), the subscription canceled or unpaid as the dunning setting says."""
        next_at = self.dunning.next_attempt(
            self._first_failure(invoice, now), invoice.attempts, invoice.last_decline_code
        )
        await uow.repo(SUBSCRIPTIONS).update_invoice(replace(invoice, next_attempt_at=next_at))
        if next_at is not None:
            await uow.repo(SUBSCRIPTIONS).update(past_due)
            return past_due
        if self.dunning.cancel_after_last:
            ended = past_due.moved(A.CANCEL, now)
            await uow.repo(SUBSCRIPTIONS).update(ended)
            await subscription_event(uow, self.ids, self.clock, "canceled", ended)
            await self._void_open_invoices(uow, ended, now)
            return ended
        ended = past_due.moved(A.EXHAUST, now)
        await uow.repo(SUBSCRIPTIONS).update(ended)
        return ended

    def _first_failure(self, invoice: Invoice, now: datetime) -> datetime:
        """When the invoice's dunning started: its first failed try (now, for the first), or the try just made
        less the delay that scheduled it. Not its creation: a draft kept through a pause is first tried on resume."""
        retries, made = self.dunning.retries, invoice.attempts - 2
        if invoice.next_attempt_at is None or not 0 <= made < len(retries):
            return now
        return invoice.next_attempt_at - retries[made]

    async def due_retries(self, uow: UnitOfWork, claim: Claim) -> list[Subscription]:
        return await uow.repo(SUBSCRIPTIONS).claim_retries(claim)

    async def oldest_retry(self, uow: UnitOfWork, claim: Claim) -> datetime | None:
        return await uow.repo(SUBSCRIPTIONS).oldest_retry(claim)

    async def due_renewals(self, uow: UnitOfWork, claim: Claim) -> list[Subscription]:
        return await uow.repo(SUBSCRIPTIONS).claim_renewals(claim)

    async def oldest_renewal(self, uow: UnitOfWork, claim: Claim) -> datetime | None:
        return await uow.repo(SUBSCRIPTIONS).oldest_renewal(claim)

    async def expire(self, uow: UnitOfWork, due: Subscription) -> list[str]:
        """A first invoice unpaid for 23 h: the subscription is incomplete_expired and the invoice void."""
        now = self.clock.now()
        expired = due.moved(A.EXPIRE, now)
        await uow.repo(SUBSCRIPTIONS).update(expired)
        return [due.id, *await self._void_open_invoices(uow, expired, now)]

    async def _void_open_invoices(self, uow: UnitOfWork, subscription: Subscription, now: datetime) -> list[str]:
        voided = []
        for invoice in await uow.repo(SUBSCRIPTIONS).invoices(subscription.id, None, None, 100):
            if invoice.status is InvoiceStatus.OPEN:
                await uow.repo(SUBSCRIPTIONS).update_invoice(
                    replace(invoice, status=InvoiceStatus.VOID, updated_at=now)
                )
                voided.append(invoice.id)
        return voided

    async def due_expiries(self, uow: UnitOfWork, claim: Claim) -> list[Subscription]:
        return await uow.repo(SUBSCRIPTIONS).claim_incomplete(claim, claim.now - INCOMPLETE_TTL)

    async def oldest_expiry(self, uow: UnitOfWork, claim: Claim) -> datetime | None:
        oldest = await uow.repo(SUBSCRIPTIONS).oldest_incomplete(claim, claim.now - INCOMPLETE_TTL)
        return None if oldest is None else oldest + INCOMPLETE_TTL
