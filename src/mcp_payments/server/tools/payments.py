"""Payment tools: take a payment, confirm, capture, cancel and refund it, and read what happened."""

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field

from mcp_payments.domain.cards import PaymentMethod
from mcp_payments.domain.errors import InvalidInput
from mcp_payments.domain.money import AmountInput, parse_amount
from mcp_payments.domain.payments import Attempt, Payment, PaymentEvent, PaymentStatus, Refund
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.counting import NOT_COUNTED, counted_refund, stated_spend
from mcp_payments.server.tools.customers import CustomerId
from mcp_payments.server.tools.models import MoneyOut, Mutation, Transaction
from mcp_payments.server.tools.params import (
    FREE_TEXT,
    ID_CHARS,
    Amount,
    AmountMinor,
    CurrencyCode,
    Cursor,
    Description,
    Limit,
)
from mcp_payments.server.tools.risk_models import RiskOut
from mcp_payments.services.commands import Command, Kind
from mcp_payments.services.container import Services
from mcp_payments.services.pages import Page
from mcp_payments.services.payments.lifecycle import PaymentDetail, PaymentService, RefundResult
from mcp_payments.services.ports import CardInput, PaymentFilter, UnitOfWork
from mcp_payments.services.risk import FraudScreen

PaymentId = Annotated[
    str,
    Field(
        pattern=f"^pay_{ID_CHARS}$",
        max_length=44,
        description="A payment id as returned by create_payment, e.g. pay_01JB...",
    ),
]
# Spelled out (not the enum) so that the input schema is a flat enum an agent reads at a glance.
StatusName = Literal[
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "processing",
    "requires_capture",
    "succeeded",
    "canceled",
]
assert set(get_args(StatusName)) == {s.value for s in PaymentStatus}, "StatusName must list every PaymentStatus"
Reason = Annotated[
    str | None, Field(default=None, min_length=1, max_length=200, description="Why, for the record."), FREE_TEXT
]


class CardOut(BaseModel):
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str = Field(description="Same card, same fingerprint; the number itself is never kept.")


class PaymentOut(BaseModel):
    id: str
    status: str = Field(
        description="requires_payment_method (declined), requires_action (3-D Secure: call "
        "confirm_payment), requires_capture (call capture_payment), succeeded, canceled."
    )
    amount: MoneyOut
    amount_capturable: MoneyOut
    amount_received: MoneyOut
    amount_refunded: MoneyOut
    amount_allocated: MoneyOut = Field(description="Net proceeds already moved into wallets with fund_wallet.")
    fee: MoneyOut
    capture_method: str
    customer_id: str | None
    card: CardOut
    decline_code: str | None
    failure_message: str | None
    next_action: str | None = Field(description="What to do next, when the payment waits for something.")
    disputed: bool
    description: str | None
    created_at: datetime
    updated_at: datetime
    authorization_expires_at: datetime | None
    canceled_at: datetime | None
    cancellation_reason: str | None

    @classmethod
    def of(cls, p: Payment) -> "PaymentOut":
        def money(minor: int) -> MoneyOut:
            return MoneyOut.of(minor, p.currency)

        m = p.method
        return cls(
            id=p.id,
            status=p.status.value,
            amount=money(p.amount),
            amount_capturable=money(p.amount_capturable),
            amount_received=money(p.amount_received),
            amount_refunded=money(p.amount_refunded),
            amount_allocated=money(p.amount_allocated),
            fee=money(p.fee),
            capture_method=p.capture_method,
            customer_id=p.customer_id,
            card=CardOut(
                brand=m.brand, last4=m.last4, exp_month=m.exp_month, exp_year=m.exp_year, fingerprint=m.fingerprint
            ),
            decline_code=p.decline_code,
            failure_message=p.failure_message,
            next_action=_next_action(p),
            disputed=p.disputed,
            description=p.description,
            created_at=p.created_at,
            updated_at=p.updated_at,
            authorization_expires_at=p.authorization_expires_at,
            canceled_at=p.canceled_at,
            cancellation_reason=p.cancellation_reason,
        )


def _next_action(p: Payment) -> str | None:
    match p.status:
        case PaymentStatus.REQUIRES_ACTION:
            return "the customer must complete 3-D Secure; then call confirm_payment"
        case PaymentStatus.REQUIRES_CAPTURE:
            return "call capture_payment (all or part) before the authorization expires, or cancel_payment"
        case PaymentStatus.REQUIRES_PAYMENT_METHOD:
            return "declined: create a new payment with another payment method"
        case _:
            return None


class RefundOut(BaseModel):
    id: str
    payment_id: str
    amount: MoneyOut
    status: str = Field(description="pending, succeeded, failed or canceled.")
    reason: str | None
    failure_reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, r: Refund) -> "RefundOut":
        return cls(
            id=r.id,
            payment_id=r.payment_id,
            amount=MoneyOut.of(r.amount, r.currency),
            status=r.status.value,
            reason=r.reason,
            failure_reason=r.failure_reason,
            created_at=r.created_at,
        )


class AttemptOut(BaseModel):
    action: str
    outcome: str
    decline_code: str | None
    created_at: datetime

    @classmethod
    def of(cls, a: Attempt) -> "AttemptOut":
        return cls(action=a.action, outcome=a.outcome, decline_code=a.decline_code, created_at=a.created_at)


class EventOut(BaseModel):
    type: str
    created_at: datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, e: PaymentEvent) -> "EventOut":
        return cls(type=e.type, created_at=e.created_at, data=e.data)


class PaymentView(BaseModel):
    payment: PaymentOut
    attempts: list[AttemptOut]
    refunds: list[RefundOut]
    events: list[EventOut]
    ledger: list[Transaction] = Field(description="The journal transactions this payment caused, oldest first.")
    risk: RiskOut | None = Field(
        default=None, description="Its fraud score when it was created (create_payment scores every payment)."
    )

    @classmethod
    def of(cls, d: PaymentDetail) -> "PaymentView":
        return cls(
            payment=PaymentOut.of(d.payment),
            attempts=[AttemptOut.of(a) for a in d.attempts],
            refunds=[RefundOut.of(r) for r in d.refunds],
            events=[EventOut.of(e) for e in d.events],
            ledger=[Transaction.of(t) for t in d.ledger],
            risk=None if d.risk is None else RiskOut.of(d.risk.assessment),
        )


class PaymentResult(Mutation, PaymentView):
    def entity_ids(self) -> tuple[str, ...]:
        customer = (self.payment.customer_id,) if self.payment.customer_id else ()
        refunds = tuple(r.id for r in self.refunds)
        moved = tuple(i for t in self.ledger for i in t.entity_ids())
        return (self.payment.id, *customer, *refunds, *moved)

    @classmethod
    def of(cls, d: PaymentDetail) -> "PaymentResult":
        return cls(**PaymentView.of(d).model_dump())


class RefundResultOut(Mutation):
    refund: RefundOut
    payment: PaymentOut

    def entity_ids(self) -> tuple[str, ...]:
        return (self.refund.id, self.payment.id)

    @classmethod
    def of(cls, r: RefundResult) -> "RefundResultOut":
        return cls(refund=RefundOut.of(r.refund), payment=PaymentOut.of(r.payment))


class PaymentList(BaseModel):
    payments: list[PaymentOut] = Field(description="Newest first.")
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[Payment]) -> "PaymentList":
        return cls(payments=[PaymentOut.of(p) for p in page.items], next_cursor=page.next_cursor)


def method_of(payments: PaymentService, arguments: Mapping[str, Any]) -> PaymentMethod:
    """The payment method a call names: a token, or a card (tokenized here; its number goes no further)."""
    token, number = arguments.get("payment_method"), arguments.get("card_number")
    month, year, cvc = arguments.get("card_exp_month"), arguments.get("card_exp_year"), arguments.get("card_cvc")
    card = None
    if number is not None:
        if month is None or year is None:
            raise InvalidInput("a card needs card_exp_month and card_exp_year as well as card_number")
        card = CardInput(number, month, year, cvc)
    elif token is None:
        raise InvalidInput("give a payment_method token (e.g. pm_card_visa) or card_number with its expiry")
    elif month is not None or year is not None or cvc is not None:
        raise InvalidInput("card_exp_month, card_exp_year and card_cvc go with card_number, not payment_method")
    if card is not None and token is not None:
        raise InvalidInput("give either payment_method or card_number, not both")
    return payments.payment_method(token, card)


def register(box: Toolbox, app: Services) -> None:  # one closure per tool, by design
    payments = app.get(PaymentService)
    screen = app.get(FraudScreen)

    async def review(uow: UnitOfWork, command: Command, approved: bool) -> None:
        """create_payment's fraud score, before its limits: refused at the block score, held in the review band."""
        a = command.arguments
        money = parse_amount(a.get("amount"), a.get("amount_minor"), a["currency"])
        method = method_of(payments, a)
        await screen.review(uow, command, money, method, a.get("customer_id"), approved=approved)

    @box.command(
        kind=Kind.MONEY,
        toolset="payments",
        title="Create payment",
        destructive=True,
        sensitive=("card_number", "card_cvc"),
        counts=replace(stated_spend(lambda arguments: arguments.get("customer_id")), review=review),
    )
    async def create_payment(
        uow: UnitOfWork,
        currency: CurrencyCode,
        amount: Amount = None,
        amount_minor: AmountMinor = None,
        payment_method: Annotated[
            str | None,
            Field(
                default=None,
                pattern="^pm_[A-Za-z0-9_]{1,60}$",
                description="A payment method token, e.g. pm_card_visa (sandbox tokens are listed in the README). "
                "Give this or the card_* fields.",
            ),
        ] = None,
        card_number: Annotated[
            str | None,
            Field(
                default=None,
                pattern="^[0-9][0-9 -]{11,22}$",
                description="Card number, only to tokenize it: it is never stored, logged or returned.",
            ),
        ] = None,
        card_exp_month: Annotated[int | None, Field(default=None, strict=True, ge=1, le=12)] = None,
        card_exp_year: Annotated[int | None, Field(default=None, strict=True, ge=2000, le=2100)] = None,
        card_cvc: Annotated[
            str | None,
            Field(default=None, pattern="^[0-9]{3,4}$", description="Checked by the provider, never stored."),
        ] = None,
        customer_id: Annotated[CustomerId | None, Field(default=None)] = None,
        capture_method: Annotated[
            Literal["automatic", "manual"],
            Field(
                description="automatic: charge now. manual: authorize now, capture_payment later (within 7 days).",
            ),
        ] = "automatic",
        description: Description = None,
    ) -> PaymentResult:
        """Charge a card or payment method token. Returns the payment: succeeded, requires_capture (manual),
        or requires_action (3-D Secure: then confirm_payment). A decline is an error with code card_declined,
        the decline_code and whether retrying can help; the declined payment is kept."""
        money = parse_amount(amount, amount_minor, currency)
        card = {"card_number": card_number, "card_exp_month": card_exp_month, "card_exp_year": card_exp_year}
        method = method_of(payments, {**card, "card_cvc": card_cvc, "payment_method": payment_method})
        return PaymentResult.of(await payments.create(uow, money, method, customer_id, capture_method, description))

    @box.command(kind=Kind.MONEY, toolset="payments", title="Confirm payment (3-D Secure)", counts=NOT_COUNTED)
    async def confirm_payment(uow: UnitOfWork, payment_id: PaymentId) -> PaymentResult:
        """Finish a payment in requires_action once the customer has completed 3-D Secure. The payment then
        succeeds (or waits for capture_payment when it was created with capture_method=manual)."""
        return PaymentResult.of(await payments.confirm(uow, payment_id))

    @box.command(kind=Kind.MONEY, toolset="payments", title="Capture payment", destructive=True, counts=NOT_COUNTED)
    async def capture_payment(
        uow: UnitOfWork,
        payment_id: PaymentId,
        amount: Amount = None,
        amount_minor: AmountMinor = None,
    ) -> PaymentResult:
        """Capture an authorized payment (requires_capture), all of it (omit the amount) or part; the uncaptured
        rest is released to the customer at once."""
        partial = None if amount is None and amount_minor is None else AmountInput(amount, amount_minor)
        return PaymentResult.of(await payments.capture(uow, payment_id, partial))

    @box.command(kind=Kind.MONEY, toolset="payments", title="Cancel payment", destructive=True, counts=NOT_COUNTED)
    async def cancel_payment(uow: UnitOfWork, payment_id: PaymentId, reason: Reason = None) -> PaymentResult:
        """Cancel a payment that has not succeeded (releases an authorization). A succeeded payment is refunded
        with refund_payment instead."""
        return PaymentResult.of(await payments.cancel(uow, payment_id, reason))

    @box.command(kind=Kind.MONEY, toolset="payments", title="Refund payment", destructive=True, counts=counted_refund)
    async def refund_payment(
        uow: UnitOfWork,
        payment_id: PaymentId,
        amount: Amount = None,
        amount_minor: AmountMinor = None,
        reason: Reason = None,
    ) -> RefundResultOut:
        """Refund a succeeded payment, all that is left (omit the amount) or part. Refunds together never exceed
        what was captured. A refund may be pending and fail later; get_payment shows it."""
        partial = None if amount is None and amount_minor is None else AmountInput(amount, amount_minor)
        return RefundResultOut.of(await payments.refund(uow, payment_id, partial, reason))

    @box.query(toolset="payments", title="Get payment")
    async def get_payment(uow: UnitOfWork, payment_id: PaymentId) -> PaymentView:
        """Read one payment with its provider attempts, its refunds and its event history."""
        return PaymentView.of(await payments.detail(uow, payment_id))

    @box.query(toolset="payments", title="List payments", snapshot=False)
    async def list_payments(
        uow: UnitOfWork,
        status: Annotated[StatusName | None, Field(default=None, description="Only payments in this state.")] = None,
        customer_id: Annotated[CustomerId | None, Field(default=None)] = None,
        created_from: Annotated[datetime | None, Field(default=None, description="ISO 8601, inclusive.")] = None,
        created_to: Annotated[datetime | None, Field(default=None, description="ISO 8601, exclusive.")] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> PaymentList:
        """List payments, newest first, filtered by status, customer and creation time; pass next_cursor back to
        continue. With created_from/created_to they come in created_at order (newest first, ties by id)."""
        for bound in (created_from, created_to):
            if bound is not None and bound.tzinfo is None:
                raise InvalidInput("created_from and created_to need a time zone, e.g. 2026-01-31T00:00:00Z")
        where = PaymentFilter(status, customer_id, created_from, created_to)
        return PaymentList.of(await payments.search(uow, where, cursor, limit))
