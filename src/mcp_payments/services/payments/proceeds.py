"""A succeeded payment's net proceeds move from the merchant balance into a wallet, at most once in total.

When refunds or disputes took more than the merchant balance held, the merchant owes that (as with a
processor), and new proceeds repay it before any can leave for a wallet.
"""

from __future__ import annotations

from dataclasses import replace

from mcp_payments.domain import ledger
from mcp_payments.domain.errors import InvalidStateTransition, PaymentNotAllocatable
from mcp_payments.domain.ledger import AccountType
from mcp_payments.domain.money import AmountInput, Money
from mcp_payments.domain.payments import PaymentStatus
from mcp_payments.services.payments.books import PaymentBooks
from mcp_payments.services.ports import PAYMENTS, Clock, Ids, UnitOfWork
from mcp_payments.services.postings import Movement, post


class ProceedsService:
    def __init__(self, clock: Clock, ids: Ids, books: PaymentBooks) -> None:
        self.clock = clock
        self.ids = ids
        self.books = books

    async def fund_wallet(
        self, uow: UnitOfWork, wallet_id: str, payment_id: str, amount: AmountInput | None, memo: str | None
    ) -> Movement:
        """Move a succeeded payment's net proceeds (or part of them) from the merchant balance into a wallet."""
        payment = await self.books.locked(uow, payment_id)
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
        await uow.repo(PAYMENTS).update(updated)
        await self.books.event(uow, updated, "payment.allocated", wallet_id=wallet_id, amount=minor)
        return movement
