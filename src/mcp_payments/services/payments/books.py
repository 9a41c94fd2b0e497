"""What every payment use case writes besides the payment itself: attempts, events, and postings between
system accounts. Shared by the lifecycle, proceeds, provider events and expiry."""

from __future__ import annotations

from typing import Any

from mcp_payments.domain.errors import PaymentNotFound
from mcp_payments.domain.ledger import AccountType, Entry, JournalTransaction
from mcp_payments.domain.payments import Attempt, Payment, PaymentEvent
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
        await uow.repo(PAYMENTS).add_event(payment.id, PaymentEvent(event_type, self.clock.now(), data))

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


def not_found(payment_id: str) -> PaymentNotFound:
    return PaymentNotFound(
        f"payment {payment_id} does not exist: call list_payments to find the right id", payment_id=payment_id
    )
