"""Payment use cases: take, confirm, capture, cancel and refund payments, with every cent on the ledger.

Money path of a captured payment: external -> provider clearing -> merchant balance (net of the
fee) + fees. A refund goes back merchant -> clearing -> external; a refund that fails later is
reversed. Each runs inside the unit of work it is handed and never commits itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from mcp_payments.domain import ledger
from mcp_payments.domain.cards import PaymentMethod
from mcp_payments.domain.errors import (
    CaptureExceedsAuthorized,
    CardDeclined,
    CustomerNotFound,
    InvalidStateTransition,
    PaymentNotAllocatable,
    PaymentNotFound,
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
from mcp_payments.services.ports import (
    CardInput,
    Clock,
    Ids,
    PaymentFilter,
    PaymentProvider,
    ProviderOutcome,
    UnitOfWork,
)
from mcp_payments.services.postings import Movement, post

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
        fees: Fees | None = None,
        authorization_ttl: timedelta = timedelta(days=7),
        action_ttl: timedelta = timedelta(days=1),
        *,
        cursors: Cursors,
    ) -> None:
        self.clock = clock
        self.cursors = cursors
        self.ids = ids
        self.provider = provider
        self.fees = fees or Fees()
        self.authorization_ttl = authorization_ttl
        self.action_ttl = action_ttl

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
        if customer_id is not None and await uow.customers.get(customer_id) is None:
            raise CustomerNotFound(
                f"customer {customer_id} does not exist: create it with create_customer or omit customer_id",
                customer_id=customer_id,
            )
        now = self.clock.now()
        payment = Payment.new(self.ids.new("pay"), amount, customer_id, capture_method, method, description, now)
        await uow.payments.add(payment)
        await self._event(uow, payment, "payment.created", amount=amount.minor, capture_method=capture_method)
        outcome = await self.provider.authorize(
            payment.id, payment.amount, payment.currency, method, capture=capture_method == "automatic"
        )
        return await self._settle_attempt(uow, payment, "authorize", outcome)

    async def confirm(self, uow: UnitOfWork, payment_id: str) -> PaymentDetail:
        """Complete the 3-D Secure step of a payment in requires_action."""
        payment = await self._locked(uow, payment_id)
        processing = payment.moved(A.CONFIRM, self.clock.now())
        outcome = await self.provider.confirm_action(
            payment.id, payment.method, capture=payment.capture_method == "automatic"
        )
        return await self._settle_attempt(uow, processing, "confirm", outcome)

    async def capture(self, uow: UnitOfWork, payment_id: str, amount: AmountInput | None) -> PaymentDetail:
        payment = await self._locked(uow, payment_id)
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
        outcome = await self.provider.capture(payment.id, minor, payment.method)
        now = self.clock.now()
        await self._attempt(uow, payment, "capture", outcome)
        captured = payment.moved(A.CAPTURE, now, amount_received=minor, amount_capturable=0, fee=self._fee(minor))
        await self._post_capture(uow, captured)
        await uow.payments.update(captured)
        await self._event(uow, captured, "payment.captured", amount=minor, released=payment.amount_capturable - minor)
        return await self.detail(uow, captured.id)

    async def cancel(self, uow: UnitOfWork, payment_id: str, reason: str | None) -> PaymentDetail:
        payment = await self._locked(uow, payment_id)
        next_status(payment.id, payment.status, A.CANCEL)
        if payment.status is PaymentStatus.REQUIRES_CAPTURE:
            await self._attempt(uow, payment, "cancel", await self.provider.cancel(payment.id))
        now = self.clock.now()
        canceled = payment.moved(
            A.CANCEL, now, amount_capturable=0, canceled_at=now, cancellation_reason=reason or "requested_by_customer"
        )
        await uow.payments.update(canceled)
        await self._event(uow, canceled, "payment.canceled", reason=canceled.cancellation_reason)
        return await self.detail(uow, canceled.id)

    async def refund(
        self, uow: UnitOfWork, payment_id: str, amount: AmountInput | None, reason: str | None
    ) -> RefundResult:
        """Refund all that is left (amount None) or part of it; refunds never exceed what was captured."""
        payment = await self._locked(uow, payment_id)
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
        outcome = await self.provider.refund(refund.id, payment.id, minor, payment.method)
        if outcome.status == "failed":
            refund = replace(
                refund,
                status=next_refund_status(refund.id, refund.status, RefundAction.FAIL),
                failure_reason=outcome.message,
            )
            await uow.payments.add_refund(refund)
            await self._event(uow, payment, "refund.failed", refund_id=refund.id, amount=minor)
            return RefundResult(refund, payment)
        if outcome.status == "approved":
            refund = replace(refund, status=next_refund_status(refund.id, refund.status, RefundAction.SUCCEED))
        await uow.payments.add_refund(refund)
        updated = replace(payment, amount_refunded=payment.amount_refunded + minor, updated_at=now)
        await uow.payments.update(updated)
        await self._post(
            uow,
            "refund",
            payment.currency,
            minor,
            AccountType.MERCHANT,
            AccountType.EXTERNAL,
            memo=f"refund {refund.id} of {payment.id}",
            reference=payment.id,
        )
        await self._event(uow, updated, f"refund.{refund.status.value}", refund_id=refund.id, amount=minor)
        return RefundResult(refund, updated)

    async def fund_wallet(
        self, uow: UnitOfWork, wallet_id: str, payment_id: str, amount: AmountInput | None, memo: str | None
    ) -> Movement:
        """Move a succeeded payment's net proceeds (or part of them) from the merchant balance into a wallet."""
        payment = await self._locked(uow, payment_id)
        if payment.status is not PaymentStatus.SUCCEEDED:
            raise InvalidStateTransition(
                f"payment {payment.id} is {payment.status.value}: only a succeeded payment can fund a wallet",
                payment_id=payment.id,
            )
        minor = payment.allocatable if amount is None else amount.in_currency(payment.currency).minor
        if minor <= 0 or minor > payment.allocatable:
            left = Money.of(payment.allocatable, payment.currency)
            raise PaymentNotAllocatable(
                f"payment {payment.id} has {left} of net proceeds left to move into a wallet (after fees, refunds "
                "and earlier funding); ask for at most that",
                payment_id=payment.id,
                allocatable=left.decimal(),
            )
        now = self.clock.now()
        merchant_id = await uow.ledger.ensure_system_account(AccountType.MERCHANT, payment.currency, now)
        merchant = (await uow.ledger.lock_accounts([merchant_id, wallet_id]))[merchant_id]
        if merchant.posted < minor:
            # Refunds or disputes took more than the merchant balance held: it owes that (as with a processor),
            # and new proceeds repay it before any leaves for a wallet.
            left = merchant.money(max(0, merchant.posted))
            raise PaymentNotAllocatable(
                f"the merchant balance in {payment.currency} is {merchant.money(merchant.posted)}: refunds and "
                f"disputes took more than it held, and proceeds repay that first; move at most {left}",
                payment_id=payment.id,
                allocatable=left.decimal(),
                merchant_balance=merchant.money(merchant.posted).decimal(),
            )
        txn = ledger.movement(
            self.ids.new("txn"),
            "fund_from_payment",
            merchant_id,
            wallet_id,
            Money.of(minor, payment.currency),
            memo or f"proceeds of {payment.id}",
            now,
            reference=payment.id,
        )
        movement = await post(uow, txn)
        updated = replace(payment, amount_allocated=payment.amount_allocated + minor, updated_at=now)
        await uow.payments.update(updated)
        await self._event(uow, updated, "payment.allocated", wallet_id=wallet_id, amount=minor)
        return movement

    async def detail(self, uow: UnitOfWork, payment_id: str) -> PaymentDetail:
        payment = await uow.payments.get(payment_id)
        if payment is None:
            raise _not_found(payment_id)
        return PaymentDetail(
            payment,
            await uow.payments.attempts(payment_id),
            await uow.payments.refunds(payment_id),
            await uow.payments.events(payment_id),
            await uow.ledger.transactions_for(payment_id),
        )

    async def search(self, uow: UnitOfWork, where: PaymentFilter, cursor: str | None, limit: int) -> Page[Payment]:
        rows = await uow.payments.search(where, self.cursors.decode_str("payments", cursor), limit + 1)
        return self.cursors.paginate("payments", rows, limit, lambda p: p.id)

    async def expire_due(self, uow: UnitOfWork, limit: int = 100) -> list[Payment]:
        """Cancel authorizations past their expiry and payments left in requires_action too long."""
        now = self.clock.now()
        done = []
        for payment in await uow.payments.claim_due(now, now - self.action_ttl, limit):
            if payment.status is PaymentStatus.REQUIRES_CAPTURE:
                await self._attempt(uow, payment, "cancel", await self.provider.cancel(payment.id))
                reason = "authorization_expired"
            else:
                reason = "action_timeout"
            expired = payment.moved(A.EXPIRE, now, amount_capturable=0, canceled_at=now, cancellation_reason=reason)
            await uow.payments.update(expired)
            await self._event(uow, expired, "payment.canceled", reason=reason)
            done.append(expired)
        return done

    async def apply_event(self, uow: UnitOfWork, event_type: str, data: dict[str, Any]) -> str:
        """Apply a provider event; 'processed', 'ignored' (nothing to do) or 'pending' (its target is not here yet)."""
        match event_type:
            case "charge.dispute.created":
                return await self._dispute(uow, str(data.get("payment_id")))
            case "refund.failed":
                return await self._refund_failed(
                    uow,
                    str(data.get("refund_id")),
                    str(data.get("failure_reason") or "the provider could not complete the refund"),
                )
            case _:
                return "ignored"

    async def _dispute(self, uow: UnitOfWork, payment_id: str) -> str:
        payment = await uow.payments.get(payment_id, lock=True)
        if payment is None:
            return "pending"
        if payment.disputed or payment.status is not PaymentStatus.SUCCEEDED:
            # A replayed or stale dispute (e.g. arriving before the capture) changes nothing more.
            return "ignored" if payment.disputed else "pending"
        now = self.clock.now()
        # The dispute takes back what the customer has not already been refunded: never both.
        amount = payment.refundable
        disputed = replace(payment, disputed=True, updated_at=now)
        await uow.payments.update(disputed)
        if amount > 0:
            await self._post(
                uow,
                "dispute",
                payment.currency,
                amount,
                AccountType.MERCHANT,
                AccountType.DISPUTES,
                memo=f"dispute of {payment.id}",
                reference=payment.id,
            )
        await self._event(uow, disputed, "payment.disputed", amount=amount)
        return "processed"

    async def _refund_failed(self, uow: UnitOfWork, refund_id: str, failure_reason: str) -> str:
        refund = await uow.payments.get_refund(refund_id, lock=True)
        if refund is None:
            return "pending"
        if refund.status is not RefundStatus.PENDING:
            return "ignored"
        payment = await self._locked(uow, refund.payment_id)
        now = self.clock.now()
        failed = replace(
            refund,
            status=next_refund_status(refund.id, refund.status, RefundAction.FAIL),
            failure_reason=failure_reason,
            updated_at=now,
        )
        await uow.payments.update_refund(failed)
        updated = replace(payment, amount_refunded=payment.amount_refunded - refund.amount, updated_at=now)
        await uow.payments.update(updated)
        # The money comes back: the refund's posting is reversed by a new transaction, never edited.
        await self._post(
            uow,
            "refund_reversal",
            payment.currency,
            refund.amount,
            AccountType.EXTERNAL,
            AccountType.MERCHANT,
            memo=f"failed refund {refund.id}",
            reference=payment.id,
        )
        await self._event(uow, updated, "refund.failed", refund_id=refund.id, amount=refund.amount)
        return "processed"

    async def _settle_attempt(
        self, uow: UnitOfWork, payment: Payment, action: str, outcome: ProviderOutcome
    ) -> PaymentDetail:
        """Move the payment by the provider's answer to an authorization or confirmation."""
        now = self.clock.now()
        await self._attempt(uow, payment, action, outcome)
        if outcome.status == "declined":
            code = outcome.decline_code or "card_declined"
            declined = payment.moved(A.DECLINE, now, decline_code=code, failure_message=outcome.message)
            await uow.payments.update(declined)
            await self._event(uow, declined, "payment.failed", decline_code=code)
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
            await self._event(uow, moved, "payment.requires_action")
        elif payment.capture_method == "manual":
            moved = payment.moved(
                A.AUTHORIZE,
                now,
                amount_capturable=payment.amount,
                authorization_expires_at=now + self.authorization_ttl,
            )
            await self._event(uow, moved, "payment.authorized", amount_capturable=payment.amount)
        else:
            moved = payment.moved(A.SUCCEED, now, amount_received=payment.amount, fee=self._fee(payment.amount))
            await self._post_capture(uow, moved)
            await self._event(uow, moved, "payment.succeeded", amount=payment.amount, fee=moved.fee)
        await uow.payments.update(moved)
        return await self.detail(uow, moved.id)

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

    async def _post(
        self,
        uow: UnitOfWork,
        kind: str,
        currency: str,
        amount: int,
        source: AccountType,
        target: AccountType,
        memo: str,
        reference: str,
    ) -> None:
        """source -> clearing -> target between system accounts."""
        now = self.clock.now()
        src = await uow.ledger.ensure_system_account(source, currency, now)
        clearing = await uow.ledger.ensure_system_account(AccountType.CLEARING, currency, now)
        dst = await uow.ledger.ensure_system_account(target, currency, now)
        entries = (
            Entry(src, -amount, currency),
            Entry(clearing, amount, currency),
            Entry(clearing, -amount, currency),
            Entry(dst, amount, currency),
        )
        await post(uow, JournalTransaction(self.ids.new("txn"), kind, entries, memo, now, reference))

    async def _locked(self, uow: UnitOfWork, payment_id: str) -> Payment:
        payment = await uow.payments.get(payment_id, lock=True)
        if payment is None:
            raise _not_found(payment_id)
        return payment

    async def _attempt(self, uow: UnitOfWork, payment: Payment, action: str, outcome: ProviderOutcome) -> None:
        await uow.payments.add_attempt(
            payment.id, Attempt(action, outcome.status, outcome.decline_code, self.clock.now())
        )

    async def _event(self, uow: UnitOfWork, payment: Payment, event_type: str, **data: Any) -> None:
        await uow.payments.add_event(payment.id, PaymentEvent(event_type, self.clock.now(), data))


def _not_found(payment_id: str) -> PaymentNotFound:
    return PaymentNotFound(
        f"payment {payment_id} does not exist: call list_payments to find the right id", payment_id=payment_id
    )
