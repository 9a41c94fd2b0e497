"""The payment lifecycle: take, confirm, capture, cancel and refund payments, with every cent on the ledger.

Money path of a captured payment: external -> provider clearing -> merchant balance (net of the
fee) + fees. A refund goes back merchant -> clearing -> external; a refund that fails later is
reversed. Each runs inside the unit of work it is handed and never commits itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from mcp_payments.domain.cards import PaymentMethod
from mcp_payments.domain.errors import (
    CaptureExceedsAuthorized,
    CardDeclined,
    CustomerNotFound,
    InvalidCursor,
    InvalidStateTransition,
    RefundExceedsCaptured,
)
from mcp_payments.domain.ledger import AccountType, Entry, JournalTransaction
from mcp_payments.domain.money import AmountInput, Money
from mcp_payments.domain.payments import (
    Attempt,
    Payment,
    PaymentAction,
    PaymentEvent,
    PaymentStatus,
    Refund,
    RefundAction,
    RefundStatus,
    fee_for,
    next_refund_status,
    next_status,
)
from mcp_payments.services.pages import Cursors, Page
from mcp_payments.services.payments.books import PaymentBooks, not_found
from mcp_payments.services.ports import (
    CUSTOMERS,
    PAYMENTS,
    CardInput,
    Clock,
    Ids,
    PaymentFilter,
    PaymentProvider,
    ProviderOutcome,
    UnitOfWork,
)
from mcp_payments.services.postings import post
from mcp_payments.services.risk import FraudScreen
from mcp_payments.services.risk_ports import StoredAssessment

A = PaymentAction
# Decline codes after which the same card may work on a later try.
RETRYABLE_DECLINES = frozenset({"processing_error"})
DECLINE_ADVICE = {
    "insufficient_funds": "ask the customer for another card or a smaller amount",
    # The declined payment is kept, so the same idempotency key (or a blind retry) replays this decline.
    "processing_error": "retry in a moment with a new idempotency_key; the card itself may be fine",
    "incorrect_cvc": "ask the customer to re-enter the CVC",
    "expired_card": "ask the customer for a current card",
}


@dataclass(frozen=True, slots=True)
class Fees:
    percent_bp: int = 290  # 2.9 %
    fixed_minor: int = 30


@dataclass(frozen=True, slots=True)
class PaymentDetail:
    payment: Payment
    attempts: list[Attempt]
    refunds: list[Refund]
    events: list[PaymentEvent]
    ledger: list[JournalTransaction]
    risk: StoredAssessment | None = None  # its fraud score (create_payment's payments have one)


@dataclass(frozen=True, slots=True)
class RefundResult:
    refund: Refund
    payment: Payment


class PaymentService:
    def __init__(
        self,
        clock: Clock,
        ids: Ids,
        provider: PaymentProvider,
        books: PaymentBooks,
        fees: Fees | None = None,
        authorization_ttl: timedelta = timedelta(days=7),
        *,
        cursors: Cursors,
        risk: FraudScreen | None = None,
    ) -> None:
        self.risk = risk  # scores every payment create() makes
        self.clock = clock
        self.cursors = cursors
        self.ids = ids
        self.provider = provider
        self.books = books
        self.fees = fees or Fees()
        self.authorization_ttl = authorization_ttl

    def payment_method(self, token: str | None, card: CardInput | None) -> PaymentMethod:
        """Tokenize a card (its number goes no further than this) or look up a payment method token."""
        if card is not None:
            return self.provider.tokenize(card)
        assert token is not None
        return self.provider.payment_method(token)

    async def create(
        self,
        uow: UnitOfWork,
        amount: Money,
        method: PaymentMethod,
        customer_id: str | None,
        capture_method: str,
        description: str | None,
    ) -> PaymentDetail:
        payment, risk = await self._charge(uow, amount, method, customer_id, capture_method, description, scored=True)
        return replace(await self.detail(uow, payment.id, with_risk=False), risk=risk)  # the score, not read back

    async def charge(
        self,
        uow: UnitOfWork,
        amount: Money,
        method: PaymentMethod,
        customer_id: str | None,
        capture_method: str,
        description: str | None,
        *,
        customer_exists: bool = False,
    ) -> Payment:
        """create() without reading the payment's detail back (five queries) and without a fraud score: for a charge
        made by due work (an invoice's renewal), which needs only the payment. customer_exists: the caller knows (a
        subscription's customer, held by its foreign key), so it is not read again."""
        payment, _ = await self._charge(
            uow, amount, method, customer_id, capture_method, description, scored=False, customer_exists=customer_exists
        )
        return payment

    async def _charge(
        self,
        uow: UnitOfWork,
        amount: Money,
        method: PaymentMethod,
        customer_id: str | None,
        capture_method: str,
        description: str | None,
        *,
        scored: bool,
        customer_exists: bool = False,
    ) -> tuple[Payment, StoredAssessment | None]:
        """`scored`: the payment's fraud score is stored with it, before the provider answers (a declined payment
        keeps its score too)."""
        if not customer_exists and customer_id is not None and await uow.repo(CUSTOMERS).get(customer_id) is None:
            raise CustomerNotFound(
                f"customer {customer_id} does not exist: create it with create_customer or omit customer_id",
                customer_id=customer_id,
            )
        now = self.clock.now()
        payment = Payment.new(self.ids.new("pay"), amount, customer_id, capture_method, method, description, now)
        # The score is stored first (its payment_id is not a foreign key): the payment row is inserted once, in its
        # final state, by _settle_attempt.
        risk = None
        if scored and self.risk is not None:
            risk = await self.risk.record(uow, payment.id, amount, method, customer_id)
        outcome = await self.provider.authorize(
            uow, payment.id, payment.amount, payment.currency, method, capture=capture_method == "automatic"
        )
        created = (payment, "payment.created", {"amount": amount.minor, "capture_method": capture_method})
        return await self._settle_attempt(uow, payment, "authorize", outcome, created=created), risk

    async def confirm(self, uow: UnitOfWork, payment_id: str) -> PaymentDetail:
        """Complete the 3-D Secure step of a payment in requires_action."""
        payment = await self.books.locked(uow, payment_id)
        processing = payment.moved(A.CONFIRM, self.clock.now())
        outcome = await self.provider.confirm_action(
            uow, payment.id, payment.method, capture=payment.capture_method == "automatic"
        )
        settled = await self._settle_attempt(uow, processing, "confirm", outcome)
        return await self.detail(uow, settled.id)

    async def capture(self, uow: UnitOfWork, payment_id: str, amount: AmountInput | None) -> PaymentDetail:
        payment = await self.books.locked(uow, payment_id)
        next_status(payment.id, payment.status, A.CAPTURE)
        minor = payment.amount_capturable if amount is None else amount.in_currency(payment.currency).minor
        if minor > payment.amount_capturable:
            capturable = Money.of(payment.amount_capturable, payment.currency)
            raise CaptureExceedsAuthorized(
                f"cannot capture {Money.of(minor, payment.currency)}: payment {payment.id} has only {capturable} "
                "authorized; capture at most that",
                payment_id=payment.id,
                capturable=capturable.decimal(),
            )
        outcome = await self.provider.capture(uow, payment.id, minor, payment.method)
        now = self.clock.now()
        await self.books.attempt(uow, payment, "capture", outcome)
        captured = payment.moved(A.CAPTURE, now, amount_received=minor, amount_capturable=0, fee=self._fee(minor))
        await self._post_capture(uow, captured)
        await uow.repo(PAYMENTS).update(captured)
        await self.books.event(
            uow, captured, "payment.captured", amount=minor, released=payment.amount_capturable - minor
        )
        return await self.detail(uow, captured.id)

    async def cancel(self, uow: UnitOfWork, payment_id: str, reason: str | None) -> PaymentDetail:
        payment = await self.books.locked(uow, payment_id)
        next_status(payment.id, payment.status, A.CANCEL)
        if payment.status is PaymentStatus.REQUIRES_CAPTURE:
            await self.books.attempt(uow, payment, "cancel", await self.provider.cancel(uow, payment.id))
        now = self.clock.now()
        canceled = payment.moved(
            A.CANCEL, now, amount_capturable=0, canceled_at=now, cancellation_reason=reason or "requested_by_customer"
        )
        await uow.repo(PAYMENTS).update(canceled)
        await self.books.event(uow, canceled, "payment.canceled", reason=canceled.cancellation_reason)
        return await self.detail(uow, canceled.id)

    async def refund(
        self, uow: UnitOfWork, payment_id: str, amount: AmountInput | None, reason: str | None
    ) -> RefundResult:
        """Refund all that is left (amount None) or part of it; refunds never exceed what was captured."""
        payment = await self.books.locked(uow, payment_id)
        next_status(payment.id, payment.status, A.REFUND)
        if payment.disputed:
            raise InvalidStateTransition(
                f"payment {payment.id} is disputed: the dispute already took the money back, so a refund would pay "
                "the customer twice; answer the dispute instead",
                payment_id=payment.id,
            )
        minor = payment.refundable if amount is None else amount.in_currency(payment.currency).minor
        if minor > payment.refundable or minor <= 0:
            left = Money.of(payment.refundable, payment.currency)
            raise RefundExceedsCaptured(
                f"cannot refund {Money.of(minor, payment.currency)}: payment {payment.id} has {left} left to refund "
                f"of {Money.of(payment.amount_received, payment.currency)} captured",
                payment_id=payment.id,
                refundable=left.decimal(),
            )
        now = self.clock.now()
        refund = Refund(
            self.ids.new("ref"), payment.id, minor, payment.currency, RefundStatus.PENDING, reason, None, now, now
        )
        outcome = await self.provider.refund(uow, refund.id, payment.id, minor, payment.method)
        if outcome.status == "failed":
            refund = replace(
                refund,
                status=next_refund_status(refund.id, refund.status, RefundAction.FAIL),
                failure_reason=outcome.message,
            )
            await uow.repo(PAYMENTS).add_refund(refund)
            await self.books.event(uow, payment, "refund.failed", refund_id=refund.id, amount=minor)
            return RefundResult(refund, payment)
        if outcome.status == "approved":
            refund = replace(refund, status=next_refund_status(refund.id, refund.status, RefundAction.SUCCEED))
        await uow.repo(PAYMENTS).add_refund(refund)
        updated = replace(payment, amount_refunded=payment.amount_refunded + minor, updated_at=now)
        await uow.repo(PAYMENTS).update(updated)
        await self.books.move(
            uow,
            "refund",
            payment.currency,
            minor,
            AccountType.MERCHANT,
            AccountType.EXTERNAL,
            memo=f"refund {refund.id} of {payment.id}",
            reference=payment.id,
        )
        await self.books.event(uow, updated, f"refund.{refund.status.value}", refund_id=refund.id, amount=minor)
        return RefundResult(refund, updated)

    async def detail(self, uow: UnitOfWork, payment_id: str, *, with_risk: bool = True) -> PaymentDetail:
        payment = await uow.repo(PAYMENTS).get(payment_id)
        if payment is None:
            raise not_found(payment_id)
        return PaymentDetail(
            payment,
            await uow.repo(PAYMENTS).attempts(payment_id),
            await uow.repo(PAYMENTS).refunds(payment_id),
            await uow.repo(PAYMENTS).events(payment_id),
            await uow.ledger.transactions_for(payment_id),
            None if self.risk is None or not with_risk else await self.risk.of_payment(uow, payment_id),
        )

    async def search(self, uow: UnitOfWork, where: PaymentFilter, cursor: str | None, limit: int) -> Page[Payment]:
        """Newest first. Without a created_at range by id (the order payments were made in); with one by
        created_at, which follows the sandbox clock, so that a page reads only its rows however wide the range.
        The two orders' cursors are signed for different lists: one is refused by the other."""
        if where.created_from is None and where.created_to is None:
            rows = await uow.repo(PAYMENTS).search(where, self.cursors.decode_str("payments", cursor), limit + 1)
            return self.cursors.paginate("payments", rows, limit, lambda p: p.id)
        before = created_position(self.cursors.decode_str(_BY_CREATED, cursor))
        rows = await uow.repo(PAYMENTS).search_by_created(where, before, limit + 1)
        return self.cursors.paginate(_BY_CREATED, rows, limit, lambda p: f"{_micros(p.created_at)}|{p.id}")

    async def _settle_attempt(
        self,
        uow: UnitOfWork,
        payment: Payment,
        action: str,
        outcome: ProviderOutcome,
        *,
        created: tuple[Payment, str, dict[str, Any]] | None = None,
    ) -> Payment:
        """Move the payment by the provider's answer to an authorization or confirmation. `created`: the payment is
        new and its creation event; it is inserted once, as the answer leaves it, rather than inserted and updated."""
        now = self.clock.now()
        events = [] if created is None else [created]
        if outcome.status == "declined":
            code = outcome.decline_code or "card_declined"
            declined = payment.moved(A.DECLINE, now, decline_code=code, failure_message=outcome.message)
            await self._store(uow, declined, new=created is not None)
            await self.books.attempt(uow, payment, action, outcome)
            await self.books.events(uow, [*events, (declined, "payment.failed", {"decline_code": code})])
            advice = DECLINE_ADVICE.get(code, "ask the customer for another payment method")
            raise CardDeclined(
                f"card_declined ({code}): {outcome.message or 'the card was declined'}; {advice}. Payment "
                f"{declined.id} is kept as {declined.status.value}",
                retryable=code in RETRYABLE_DECLINES,
                entities=(declined.id,),
                payment_id=declined.id,
                decline_code=code,
                status=declined.status.value,
            )
        if outcome.status == "requires_action":
            moved = payment.moved(A.REQUIRE_ACTION, now)
            events.append((moved, "payment.requires_action", {}))
        elif payment.capture_method == "manual":
            moved = payment.moved(
                A.AUTHORIZE,
                now,
                amount_capturable=payment.amount,
                authorization_expires_at=now + self.authorization_ttl,
            )
            events.append((moved, "payment.authorized", {"amount_capturable": payment.amount}))
        else:
            moved = payment.moved(A.SUCCEED, now, amount_received=payment.amount, fee=self._fee(payment.amount))
            events.append((moved, "payment.succeeded", {"amount": payment.amount, "fee": moved.fee}))
        await self._store(uow, moved, new=created is not None)
        await self.books.attempt(uow, payment, action, outcome)
        await self.books.events(uow, events)
        if moved.status is PaymentStatus.SUCCEEDED:
            await self._post_capture(uow, moved)
        return moved

    @staticmethod
    async def _store(uow: UnitOfWork, payment: Payment, *, new: bool) -> None:
        if new:
            await uow.repo(PAYMENTS).add(payment)
        else:
            await uow.repo(PAYMENTS).update(payment)

    def _fee(self, amount: int) -> int:
        return min(amount, fee_for(amount, self.fees.percent_bp, self.fees.fixed_minor))

    async def _post_capture(self, uow: UnitOfWork, payment: Payment) -> None:
        """external -> clearing -> merchant (net) + fees, as one balanced transaction."""
        now = self.clock.now()
        cur = payment.currency
        external, clearing, merchant, fees = [
            await uow.ledger.ensure_system_account(t, cur, now)
            for t in (AccountType.EXTERNAL, AccountType.CLEARING, AccountType.MERCHANT, AccountType.FEES)
        ]
        received, fee = payment.amount_received, payment.fee
        entries = [Entry(external, -received, cur), Entry(clearing, received, cur), Entry(clearing, -received, cur)]
        entries += [e for e in (Entry(merchant, received - fee, cur), Entry(fees, fee, cur)) if e.amount]
        txn = JournalTransaction(
            self.ids.new("txn"), "payment_capture", tuple(entries), f"capture of {payment.id}", now, payment.id
        )
        await post(uow, txn)


_BY_CREATED = "payments-by-created"  # list_payments with a created_at range: its cursors' scope
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def created_position(position: str | None) -> tuple[datetime, str] | None:
    """(created_at, id) from a by-created cursor's "<microseconds since 1970>|<payment id>"."""
    if position is None:
        return None
    micros, bar, payment_id = position.partition("|")
    try:
        if bar and micros.isascii() and micros.isdigit() and payment_id.startswith("pay_"):
            return _EPOCH + timedelta(microseconds=int(micros)), payment_id
    except OverflowError:
        pass  # past year 9999: not a position this server wrote
    raise InvalidCursor(
        "cursor is not one this server issued for this list: pass back `next_cursor` unchanged, or omit it"
    )
