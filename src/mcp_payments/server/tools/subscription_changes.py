"""Subscription change tools: a plan change with proration, the card charged, pause, resume and cancel."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from mcp_payments.domain.errors import DomainError, InvalidInput
from mcp_payments.domain.limits import Counts, Spend
from mcp_payments.domain.money import Money
from mcp_payments.domain.plan_changes import ProrationBehavior
from mcp_payments.domain.subscriptions import PauseCollection
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.models import MoneyOut, Mutation
from mcp_payments.server.tools.subscriptions import (
    TOOLSET,
    InvoiceLineOut,
    InvoiceOut,
    PaymentMethodToken,
    PlanId,
    PlanOut,
    SubscriptionChanged,
    SubscriptionId,
    SubscriptionOut,
)
from mcp_payments.services.commands import Counting, Kind
from mcp_payments.services.container import Services
from mcp_payments.services.payments.lifecycle import PaymentService
from mcp_payments.services.ports import UnitOfWork
from mcp_payments.services.subscriptions.changes import SubscriptionChanges
from mcp_payments.services.subscriptions.ports import SUBSCRIPTIONS


class PlanChangeResult(Mutation):
    subscription: SubscriptionOut
    plan: PlanOut = Field(description="The plan it is on now.")
    proration_lines: list[InvoiceLineOut] = Field(
        description="The credit for the old price's unused time and the charge for the new one's remaining time "
        "(by the second, rounded half to even); empty during a trial or with proration_behavior none."
    )
    invoice: InvoiceOut | None = Field(
        description="always_invoice: the invoice issued and paid now; null otherwise (the lines are on the next "
        "invoice: see preview_upcoming_invoice)."
    )

    def entity_ids(self) -> tuple[str, ...]:
        invoice = () if self.invoice is None else (self.invoice.id, *filter(None, [self.invoice.payment_id]))
        return (self.subscription.id, self.plan.id, *invoice)


class ResumeResult(Mutation):
    subscription: SubscriptionOut
    invoices: list[InvoiceOut] = Field(description="The drafts kept while paused, charged now (oldest first).")

    def entity_ids(self) -> tuple[str, ...]:
        return (
            self.subscription.id,
            *(i.id for i in self.invoices),
            *filter(None, (i.payment_id for i in self.invoices)),
        )


class CancelResult(Mutation):
    subscription: SubscriptionOut
    refund: MoneyOut | None = Field(description="prorate=true: the unused time refunded to the card; else null.")
    refund_id: str | None = Field(description="The refund (see get_payment of the period's payment).")

    def entity_ids(self) -> tuple[str, ...]:
        return (self.subscription.id, *filter(None, [self.refund_id]))


def _instant(text: str | None) -> datetime | None:
    """An ISO 8601 instant with its time zone, in UTC (kept as text in the command's arguments, which are JSON)."""
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
        if at.tzinfo is None:
            raise ValueError
        return at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput("resumes_at is not an ISO 8601 time with a time zone, e.g. 2026-12-31T00:00:00Z") from None


def register(box: Toolbox, app: Services) -> None:  # one closure per tool, by design
    changes, payments = app.get(SubscriptionChanges), app.get(PaymentService)

    # How the money tools count against the caller's spending limits: what each charges or refunds now.
    async def _proration_charge(uow: UnitOfWork, arguments: Mapping[str, Any]) -> Spend | None:
        if arguments.get("proration_behavior", "create_prorations") != ProrationBehavior.ALWAYS_INVOICE:
            return None
        subscription = await uow.repo(SUBSCRIPTIONS).get(arguments["subscription_id"])
        if subscription is None:
            return None
        try:
            _, new, lines = await changes.proration(
                uow, subscription, arguments["plan_id"], ProrationBehavior.ALWAYS_INVOICE
            )
        except DomainError:  # the handler refuses the call with the actionable error
            return None
        total = sum(line.amount for line in lines)
        return Spend(Money.of(total, new.currency), Counts.SPEND, subscription.customer_id) if total > 0 else None

    async def _drafts(uow: UnitOfWork, arguments: Mapping[str, Any]) -> Spend | None:
        subscription = await uow.repo(SUBSCRIPTIONS).get(arguments["subscription_id"])
        if subscription is None or (owed := await changes.drafts_owed(uow, subscription)) <= 0:
            return None
        plan = await changes.lifecycle.plans.get(uow, subscription.plan_id)
        return Spend(Money.of(owed, plan.currency), Counts.SPEND, subscription.customer_id)

    async def _unused(uow: UnitOfWork, arguments: Mapping[str, Any]) -> Spend | None:
        if not arguments.get("prorate") or arguments.get("at_period_end"):
            return None
        subscription = await uow.repo(SUBSCRIPTIONS).get(arguments["subscription_id"])
        unused = None if subscription is None else await changes.unused(uow, subscription)
        return (
            None
            if unused is None or subscription is None
            else Spend(unused[1], Counts.REFUND, subscription.customer_id)
        )

    @box.command(
        kind=Kind.MONEY,
        toolset=TOOLSET,
        title="Change subscription plan",
        destructive=True,
        counts=Counting(Counts.SPEND, _proration_charge),
    )
    async def change_subscription_plan(
        uow: UnitOfWork,
        subscription_id: SubscriptionId,
        plan_id: PlanId,
        proration_behavior: Annotated[
            Literal["create_prorations", "none", "always_invoice"],
            Field(
                description="create_prorations (default): credit the old price's unused time and charge the new "
                "one's remaining time on the next invoice. none: no proration, the new price applies from the next "
                "period. always_invoice: invoice and charge the proration now (a net credit goes to the next "
                "invoice); declined, nothing is changed."
            ),
        ] = "create_prorations",
    ) -> PlanChangeResult:
        """Move a trialing, active or past_due subscription to another plan with the same currency and billing
        interval, now. Proration is by the second, in integer minor units, each line rounded half to even.
        preview_upcoming_invoice then shows the next invoice with the proration lines."""
        changed = await changes.change_plan(uow, subscription_id, plan_id, ProrationBehavior(proration_behavior))
        return PlanChangeResult(
            subscription=SubscriptionOut.of(changed.subscription),
            plan=PlanOut.of(changed.plan),
            proration_lines=[InvoiceLineOut.of(line, changed.plan.currency) for line in changed.proration],
            invoice=None if changed.invoice is None else InvoiceOut.of(changed.invoice),
        )

    @box.command(kind=Kind.WRITE, toolset=TOOLSET, title="Update subscription")
    async def update_subscription(
        uow: UnitOfWork, subscription_id: SubscriptionId, default_payment_method: PaymentMethodToken
    ) -> SubscriptionChanged:
        """Change the card a subscription charges: its renewals, dunning retries and pay_invoice use it from now
        on. To recover a past_due or unpaid subscription, set a working card, then pay_invoice its open invoice."""
        method = payments.payment_method(default_payment_method, None)
        updated = await changes.set_payment_method(uow, subscription_id, method)
        return SubscriptionChanged(subscription=SubscriptionOut.of(updated))

    @box.command(kind=Kind.WRITE, toolset=TOOLSET, title="Pause subscription")
    async def pause_subscription(
        uow: UnitOfWork,
        subscription_id: SubscriptionId,
        collection: Annotated[
            Literal["void", "keep_as_draft", "mark_uncollectible"],
            Field(
                description="What happens to the invoice of each period that starts while paused: void (never "
                "owed), keep_as_draft (owed: charged when it resumes) or mark_uncollectible (owed, never charged)."
            ),
        ],
        resumes_at: Annotated[
            str | None,
            Field(
                default=None,
                max_length=40,
                description="ISO 8601 with a time zone, e.g. 2026-12-31T00:00:00Z, at most two years ahead: it "
                "resumes by itself then. Omit to resume with resume_subscription.",
            ),
        ] = None,
    ) -> SubscriptionChanged:
        """Pause collection on a trialing or active subscription: no card is charged while it is paused; its
        periods go on, their invoices handled as `collection` says."""
        paused = await changes.pause(uow, subscription_id, PauseCollection(collection), _instant(resumes_at))
        return SubscriptionChanged(subscription=SubscriptionOut.of(paused))

    @box.command(kind=Kind.MONEY, toolset=TOOLSET, title="Resume subscription", counts=Counting(Counts.SPEND, _drafts))
    async def resume_subscription(uow: UnitOfWork, subscription_id: SubscriptionId) -> ResumeResult:
        """Resume a paused subscription (it is active again; invoices kept as drafts while paused are charged now,
        and a declined one makes it past_due), or undo a cancellation scheduled for the period's end."""
        resumed = await changes.resume(uow, subscription_id)
        return ResumeResult(
            subscription=SubscriptionOut.of(resumed.subscription),
            invoices=[InvoiceOut.of(i) for i in resumed.invoices],
        )

    @box.command(
        kind=Kind.MONEY,
        toolset=TOOLSET,
        title="Cancel subscription",
        destructive=True,
        counts=Counting(Counts.REFUND, _unused),
    )
    async def cancel_subscription(
        uow: UnitOfWork,
        subscription_id: SubscriptionId,
        at_period_end: Annotated[
            bool,
            Field(
                strict=True,
                description="True: keep it until the current period ends, then cancel (undo with resume_subscription "
                "until then). False (default): cancel now; its open invoices are voided.",
            ),
        ] = False,
        prorate: Annotated[
            bool,
            Field(
                strict=True,
                description="With a cancellation now: refund the paid period's unused time to the card (by the "
                "second, rounded half to even). Default false: nothing is refunded.",
            ),
        ] = False,
    ) -> CancelResult:
        """Cancel a subscription now (optionally refunding the unused time), or at the end of its current period.
        A canceled subscription is never charged again and cannot be restarted: subscribe the customer anew."""
        canceled = await changes.cancel(uow, subscription_id, at_period_end, prorate)
        return CancelResult(
            subscription=SubscriptionOut.of(canceled.subscription),
            refund=None
            if canceled.refund is None
            else MoneyOut.of(canceled.refund.minor, canceled.refund.currency.code),
            refund_id=canceled.refund_id,
        )
