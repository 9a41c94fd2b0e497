"""Subscription tools: plans, subscriptions on them, and the invoices each period issues."""

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from mcp_payments.domain.limits import Counts, Spend
from mcp_payments.domain.money import Money, parse_amount
from mcp_payments.domain.subscriptions import (
    MAX_TRIAL_DAYS,
    Interval,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Plan,
    Subscription,
    SubscriptionStatus,
)
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.customers import CustomerId
from mcp_payments.server.tools.models import MoneyOut, Mutation
from mcp_payments.server.tools.params import (
    FREE_TEXT,
    ID_CHARS,
    Amount,
    AmountMinor,
    CurrencyCode,
    Cursor,
    Limit,
)
from mcp_payments.services.commands import Counting, Kind
from mcp_payments.services.container import Services
from mcp_payments.services.pages import Page
from mcp_payments.services.payments.lifecycle import PaymentService
from mcp_payments.services.ports import UnitOfWork
from mcp_payments.services.subscriptions.billing import Billing
from mcp_payments.services.subscriptions.lifecycle import Subscribed, SubscriptionService
from mcp_payments.services.subscriptions.plans import PlanService
from mcp_payments.services.subscriptions.ports import SUBSCRIPTIONS, SubscriptionFilter

TOOLSET = "subscriptions"


# How the money tools count against the caller's spending limits (domain/limits.py): a charge of the customer,
# as create_payment counts. None when nothing is charged now (a trial) or the handler will refuse the call.
async def _first_charge(uow: UnitOfWork, arguments: Mapping[str, Any]) -> Spend | None:
    plan = await uow.repo(SUBSCRIPTIONS).get_plan(arguments["plan_id"])
    trial = arguments.get("trial_days")
    if plan is None or (plan.trial_days if trial is None else trial) > 0:
        return None
    return Spend(Money.of(plan.amount, plan.currency), Counts.SPEND, arguments["customer_id"])


async def _invoice_charge(uow: UnitOfWork, arguments: Mapping[str, Any]) -> Spend | None:
    invoice = await uow.repo(SUBSCRIPTIONS).get_invoice(arguments["invoice_id"])
    if invoice is None or invoice.status is not InvoiceStatus.OPEN or invoice.total <= 0:
        return None
    return Spend(Money.of(invoice.total, invoice.currency), Counts.SPEND, invoice.customer_id)


first_charge = Counting(Counts.SPEND, _first_charge)
invoice_charge = Counting(Counts.SPEND, _invoice_charge)

PlanId = Annotated[
    str, Field(pattern=f"^plan_{ID_CHARS}$", max_length=45, description="A plan id from create_plan, e.g. plan_01JB...")
]
SubscriptionId = Annotated[
    str,
    Field(
        pattern=f"^sub_{ID_CHARS}$",
        max_length=44,
        description="A subscription id from create_subscription, e.g. sub_01JB...",
    ),
]
InvoiceId = Annotated[
    str, Field(pattern=f"^inv_{ID_CHARS}$", max_length=44, description="An invoice id, e.g. inv_01JB...")
]
PaymentMethodToken = Annotated[
    str,
    Field(
        pattern="^pm_[A-Za-z0-9_]{1,60}$",
        description="The card charged each period, as a payment method token such as pm_card_visa "
        "(sandbox tokens are listed in the README).",
    ),
]
TrialDays = Annotated[int, Field(strict=True, ge=0, le=MAX_TRIAL_DAYS, description="Days of free trial, 0-730.")]


class PlanOut(BaseModel):
    id: str
    name: str
    price: MoneyOut = Field(description="Charged every interval_count intervals.")
    interval: str = Field(description="day, week, month or year.")
    interval_count: int
    trial_days: int = Field(description="The trial a new subscription gets unless create_subscription says otherwise.")
    used: bool = Field(description="True once a subscription uses it: its price can no longer change.")
    created_at: datetime

    @classmethod
    def of(cls, p: Plan) -> "PlanOut":
        return cls(
            id=p.id,
            name=p.name,
            price=MoneyOut.of(p.amount, p.currency),
            interval=p.interval.value,
            interval_count=p.interval_count,
            trial_days=p.trial_days,
            used=p.used,
            created_at=p.created_at,
        )


class PlanResult(Mutation):
    plan: PlanOut

    def entity_ids(self) -> tuple[str, ...]:
        return (self.plan.id,)


class PlanList(BaseModel):
    plans: list[PlanOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")

    @classmethod
    def of(cls, page: Page[Plan]) -> "PlanList":
        return cls(plans=[PlanOut.of(p) for p in page.items], next_cursor=page.next_cursor)


class SubscriptionOut(BaseModel):
    id: str
    customer_id: str
    plan_id: str
    status: str = Field(
        description="trialing, active, past_due, unpaid, canceled, paused, incomplete (the first invoice is unpaid: "
        "pay_invoice with a working card within 23 h) or incomplete_expired."
    )
    current_period_start: datetime
    current_period_end: datetime = Field(description="When the next invoice is issued and charged.")
    billing_anchor: datetime = Field(description="Periods are counted from it; month ends clamp (Jan 31 -> Feb 28).")
    trial_end: datetime | None
    card_brand: str
    card_last4: str
    created_at: datetime
    canceled_at: datetime | None
    cancel_at_period_end: bool = Field(
        description="True: it is canceled when the current period ends (resume_subscription undoes it until then)."
    )
    pause_collection: str | None = Field(
        default=None, description="While paused: void, keep_as_draft or mark_uncollectible (see pause_subscription)."
    )
    resumes_at: datetime | None = Field(default=None, description="While paused: when it resumes by itself.")

    @classmethod
    def of(cls, s: Subscription) -> "SubscriptionOut":
        return cls(
            id=s.id,
            customer_id=s.customer_id,
            plan_id=s.plan_id,
            status=s.status.value,
            current_period_start=s.current_period_start,
            current_period_end=s.current_period_end,
            billing_anchor=s.anchor,
            trial_end=s.trial_end,
            card_brand=s.method.brand,
            card_last4=s.method.last4,
            created_at=s.created_at,
            canceled_at=s.canceled_at,
            cancel_at_period_end=s.cancel_at_period_end,
            pause_collection=None if s.pause_collection is None else s.pause_collection.value,
            resumes_at=s.resumes_at,
        )


class InvoiceLineOut(BaseModel):
    kind: str = Field(description="plan, proration_credit or proration_debit.")
    description: str
    amount: MoneyOut = Field(description="Signed: a credit is negative.")
    period_start: datetime
    period_end: datetime

    @classmethod
    def of(cls, line: InvoiceLine, currency: str) -> "InvoiceLineOut":
        return cls(
            kind=line.kind,
            description=line.description,
            amount=MoneyOut.of(line.amount, currency),
            period_start=line.period_start,
            period_end=line.period_end,
        )


class InvoiceOut(BaseModel):
    id: str
    subscription_id: str
    customer_id: str
    status: str = Field(description="open (not paid yet), paid, void, draft or uncollectible.")
    period_start: datetime
    period_end: datetime
    lines: list[InvoiceLineOut]
    total: MoneyOut = Field(description="The sum of the lines.")
    attempts: int = Field(description="Payment attempts so far.")
    payment_id: str | None = Field(description="The last attempt's payment (see get_payment).")
    last_decline_code: str | None = Field(description="Why the last attempt failed, if it did.")
    next_attempt_at: datetime | None = Field(
        description="When a failed renewal is tried again by itself (8 tries within 2 weeks; a lost, stolen or "
        "expired card is not retried); null when no retry is scheduled."
    )
    created_at: datetime

    @classmethod
    def of(cls, i: Invoice) -> "InvoiceOut":
        return cls(
            id=i.id,
            subscription_id=i.subscription_id,
            customer_id=i.customer_id,
            status=i.status.value,
            period_start=i.period_start,
            period_end=i.period_end,
            lines=[InvoiceLineOut.of(line, i.currency) for line in i.lines],
            total=MoneyOut.of(i.total, i.currency),
            attempts=i.attempts,
            payment_id=i.payment_id,
            last_decline_code=i.last_decline_code,
            next_attempt_at=i.next_attempt_at,
            created_at=i.created_at,
        )


class SubscriptionResult(Mutation):
    subscription: SubscriptionOut
    plan: PlanOut
    invoice: InvoiceOut | None = Field(description="The first period's invoice; null while trialing.")

    def entity_ids(self) -> tuple[str, ...]:
        first = () if self.invoice is None else (self.invoice.id, *filter(None, [self.invoice.payment_id]))
        return (self.subscription.id, self.plan.id, *first)

    @classmethod
    def of(cls, s: Subscribed) -> "SubscriptionResult":
        invoice = None if s.invoice is None else InvoiceOut.of(s.invoice)
        return cls(subscription=SubscriptionOut.of(s.subscription), plan=PlanOut.of(s.plan), invoice=invoice)


class SubscriptionList(BaseModel):
    subscriptions: list[SubscriptionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class InvoiceList(BaseModel):
    invoices: list[InvoiceOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class UpcomingInvoice(BaseModel):
    subscription_id: str
    period_start: datetime = Field(description="When it is issued and charged.")
    period_end: datetime
    lines: list[InvoiceLineOut]
    total: MoneyOut = Field(description="The sum of the lines: what will be charged.")

    @classmethod
    def of(cls, i: Invoice) -> "UpcomingInvoice":
        return cls(
            subscription_id=i.subscription_id,
            period_start=i.period_start,
            period_end=i.period_end,
            lines=[InvoiceLineOut.of(line, i.currency) for line in i.lines],
            total=MoneyOut.of(i.total, i.currency),
        )


class SubscriptionChanged(Mutation):
    subscription: SubscriptionOut

    def entity_ids(self) -> tuple[str, ...]:
        return (self.subscription.id,)


class PaidInvoice(Mutation):
    invoice: InvoiceOut
    subscription: SubscriptionOut

    def entity_ids(self) -> tuple[str, ...]:
        return (self.invoice.id, self.subscription.id, *filter(None, [self.invoice.payment_id]))


def register(box: Toolbox, app: Services) -> None:  # one closure per tool, by design
    plans, subscriptions, billing = app.get(PlanService), app.get(SubscriptionService), app.get(Billing)
    payments = app.get(PaymentService)

    @box.command(kind=Kind.WRITE, toolset=TOOLSET, title="Create plan")
    async def create_plan(
        uow: UnitOfWork,
        name: Annotated[str, Field(min_length=1, max_length=200, description="What the customer buys."), FREE_TEXT],
        currency: CurrencyCode,
        interval: Annotated[Literal["day", "week", "month", "year"], Field(description="The billing interval.")],
        amount: Amount = None,
        amount_minor: AmountMinor = None,
        interval_count: Annotated[
            int, Field(strict=True, ge=1, le=365, description="Intervals per period; a period is at most a year.")
        ] = 1,
        trial_days: TrialDays = 0,
    ) -> PlanResult:
        """Create a price to subscribe customers to: an amount every interval_count intervals, with an optional
        free trial. A plan's price never changes once used: to change a price, create a new plan."""
        price = parse_amount(amount, amount_minor, currency)
        plan = await plans.create(uow, name, price, Interval(interval), interval_count, trial_days)
        return PlanResult(plan=PlanOut.of(plan))

    @box.query(toolset=TOOLSET, title="List plans", snapshot=False)
    async def list_plans(uow: UnitOfWork, limit: Limit = 20, cursor: Cursor = None) -> PlanList:
        """List plans, oldest first, a page at a time; pass next_cursor back to continue."""
        return PlanList.of(await plans.search(uow, cursor, limit))

    @box.command(kind=Kind.MONEY, toolset=TOOLSET, title="Create subscription", destructive=True, counts=first_charge)
    async def create_subscription(
        uow: UnitOfWork,
        customer_id: CustomerId,
        plan_id: PlanId,
        payment_method: PaymentMethodToken,
        trial_days: Annotated[
            int | None,
            Field(default=None, strict=True, ge=0, le=MAX_TRIAL_DAYS, description="Overrides the plan's trial."),
        ] = None,
    ) -> SubscriptionResult:
        """Subscribe a customer to a plan. With a trial it starts trialing and is first charged when the trial
        ends; without one the first period is invoiced and charged now: active if paid, else incomplete (pay the
        invoice with pay_invoice within 23 h). Renewals are charged automatically at each period's end."""
        method = payments.payment_method(payment_method, None)
        return SubscriptionResult.of(await subscriptions.create(uow, customer_id, plan_id, method, trial_days))

    @box.query(toolset=TOOLSET, title="Get subscription", snapshot=False)
    async def get_subscription(uow: UnitOfWork, subscription_id: SubscriptionId) -> SubscriptionOut:
        """Read one subscription: its status, current period and the card it charges."""
        return SubscriptionOut.of(await subscriptions.get(uow, subscription_id))

    @box.query(toolset=TOOLSET, title="List subscriptions", snapshot=False)
    async def list_subscriptions(
        uow: UnitOfWork,
        customer_id: Annotated[CustomerId | None, Field(default=None, description="Only this customer's.")] = None,
        status: Annotated[
            Literal[tuple(s.value for s in SubscriptionStatus)] | None,  # type: ignore[valid-type]  # the enum's values
            Field(default=None, description="Only subscriptions in this status."),
        ] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> SubscriptionList:
        """List subscriptions, oldest first, optionally one customer's or in one status."""
        where = SubscriptionFilter(customer_id, None if status is None else SubscriptionStatus(status))
        page = await subscriptions.search(uow, where, cursor, limit)
        return SubscriptionList(subscriptions=[SubscriptionOut.of(s) for s in page.items], next_cursor=page.next_cursor)

    @box.query(toolset=TOOLSET, title="List invoices", snapshot=False)
    async def list_invoices(
        uow: UnitOfWork,
        subscription_id: Annotated[SubscriptionId | None, Field(default=None, description="Only its invoices.")] = None,
        customer_id: Annotated[CustomerId | None, Field(default=None, description="Only this customer's.")] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> InvoiceList:
        """List invoices, newest first, with their lines and totals."""
        page = await billing.search(uow, subscription_id, customer_id, cursor, limit)
        return InvoiceList(invoices=[InvoiceOut.of(i) for i in page.items], next_cursor=page.next_cursor)

    @box.query(toolset=TOOLSET, title="Get invoice", snapshot=False)
    async def get_invoice(uow: UnitOfWork, invoice_id: InvoiceId) -> InvoiceOut:
        """Read one invoice: its lines, total, status and payment attempts."""
        return InvoiceOut.of(await billing.get(uow, invoice_id))

    @box.command(kind=Kind.MONEY, toolset=TOOLSET, title="Pay invoice", destructive=True, counts=invoice_charge)
    async def pay_invoice(uow: UnitOfWork, invoice_id: InvoiceId) -> PaidInvoice:
        """Try to collect an open invoice now with the subscription's card. Paid, a past_due, unpaid or
        incomplete subscription becomes active; declined, the invoice stays open with last_decline_code."""
        invoice, subscription = await subscriptions.pay_invoice(uow, invoice_id)
        return PaidInvoice(invoice=InvoiceOut.of(invoice), subscription=SubscriptionOut.of(subscription))

    @box.query(toolset=TOOLSET, title="Preview upcoming invoice", snapshot=False)
    async def preview_upcoming_invoice(uow: UnitOfWork, subscription_id: SubscriptionId) -> UpcomingInvoice:
        """Show exactly the invoice the subscription's next renewal will issue and charge: its period, lines and
        total. Nothing is stored or charged. Refused for a subscription that will not renew."""
        return UpcomingInvoice.of(await subscriptions.upcoming(uow, subscription_id))
