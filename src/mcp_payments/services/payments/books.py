"""What every payment use case writes besides the payment itself: attempts, events, and postings between
system accounts. Shared by the lifecycle, proceeds, provider events and expiry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mcp_payments.domain.errors import PaymentNotFound
from mcp_payments.domain.ledger import AccountType, Entry, JournalTransaction
from mcp_payments.domain.payments import Attempt, Payment, PaymentEvent
from mcp_payments.domain.webhooks import PAYMENT_EVENTS
from mcp_payments.services.notifications.endpoints import publish
from mcp_payments.services.ports import PAYMENTS, Clock, Ids, ProviderOutcome, UnitOfWork
from mcp_payments.services.postings import post


class PaymentBooks:
    def __init__(self, clock: Clock, ids: Ids) -> None:
        self.clock = clock
        self.ids = ids

    async def locked(self, uow: UnitOfWork, payment_id: str) -> Payment:
        """The payment, locked for this unit of work (PostgreSQL; SQLite's writer holds the database)."""
        payment = await uow.repo(PAYMENTS).get(payment_id, lock=True)
        if payment is None:
            raise not_found(payment_id)
        return payment

    async def attempt(self, uow: UnitOfWork, payment: Payment, action: str, outcome: ProviderOutcome) -> None:
        await uow.repo(PAYMENTS).add_attempt(
            payment.id, Attempt(action, outcome.status, outcome.decline_code, self.clock.now())
        )

    async def event(self, uow: UnitOfWork, payment: Payment, event_type: str, **data: Any) -> None:
        """The payment's event, and its webhook when it has one (in this transaction: the outbox)."""
        await self.events(uow, [(payment, event_type, data)])

    async def events(self, uow: UnitOfWork, events: Sequence[tuple[Payment, str, dict[str, Any]]]) -> None:
        """Events of one payment, each with the payment as it was then, in one statement; their webhooks."""
        now = self.clock.now()
        await uow.repo(PAYMENTS).add_events(
            events[0][0].id, [PaymentEvent(kind, now, data) for _, kind, data in events]
        )
        for payment, event_type, data in events:
            if (webhook := PAYMENT_EVENTS.get(event_type)) is not None:
                await publish(uow, self.ids, now, webhook, webhook_data(payment, data))

    async def move(
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


def webhook_data(payment: Payment, data: dict[str, Any]) -> dict[str, Any]:
    """What a payment's webhook says: the payment as it is now, and what the event adds (a refund's id, a decline
    code) under details. Amounts are integers in minor units, as everywhere."""
    return {
        "object": "payment",
        "id": payment.id,
        "status": payment.status.value,
        "amount": payment.amount,
        "currency": payment.currency,
        "customer_id": payment.customer_id,
        "amount_received": payment.amount_received,
        "amount_refunded": payment.amount_refunded,
        "disputed": payment.disputed,
        "details": {k: v for k, v in data.items() if isinstance(v, (str, int, bool)) or v is None},
    }


def not_found(payment_id: str) -> PaymentNotFound:
    return PaymentNotFound(
        f"payment {payment_id} does not exist: call list_payments to find the right id", payment_id=payment_id
    )
