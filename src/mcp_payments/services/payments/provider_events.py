"""Provider events that change a payment: a dispute takes the money back, a failed refund is reversed.

Each returns 'processed', 'ignored' (nothing to do, e.g. a replay) or 'pending' (its target is not
known here yet; due work tries again).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mcp_payments.domain.ledger import AccountType
from mcp_payments.domain.payments import PaymentStatus, RefundAction, RefundStatus, next_refund_status
from mcp_payments.services.payments.books import PaymentBooks
from mcp_payments.services.ports import PAYMENTS, Clock, UnitOfWork


class PaymentEventRouter:
    def __init__(self, clock: Clock, books: PaymentBooks) -> None:
        self.clock = clock
        self.books = books

    async def apply(self, uow: UnitOfWork, event_type: str, data: dict[str, Any]) -> str:
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
        payment = await uow.repo(PAYMENTS).get(payment_id, lock=True)
        if payment is None:
            return "pending"
        if payment.disputed or payment.status is not PaymentStatus.SUCCEEDED:
            # A replayed or stale dispute (e.g. arriving before the capture) changes nothing more.
            return "ignored" if payment.disputed else "pending"
        now = self.clock.now()
        # The dispute takes back what the customer has not already been refunded: never both.
        amount = payment.refundable
        disputed = replace(payment, disputed=True, updated_at=now)
        await uow.repo(PAYMENTS).update(disputed)
        if amount > 0:
            await self.books.move(
                uow,
                "dispute",
                payment.currency,
                amount,
                AccountType.MERCHANT,
                AccountType.DISPUTES,
                memo=f"dispute of {payment.id}",
                reference=payment.id,
            )
        await self.books.event(uow, disputed, "payment.disputed", amount=amount)
        return "processed"

    async def _refund_failed(self, uow: UnitOfWork, refund_id: str, failure_reason: str) -> str:
        refund = await uow.repo(PAYMENTS).get_refund(refund_id, lock=True)
        if refund is None:
            return "pending"
        if refund.status is not RefundStatus.PENDING:
            return "ignored"
        payment = await self.books.locked(uow, refund.payment_id)
        now = self.clock.now()
        failed = replace(
            refund,
            status=next_refund_status(refund.id, refund.status, RefundAction.FAIL),
            failure_reason=failure_reason,
            updated_at=now,
        )
        await uow.repo(PAYMENTS).update_refund(failed)
        updated = replace(payment, amount_refunded=payment.amount_refunded - refund.amount, updated_at=now)
        await uow.repo(PAYMENTS).update(updated)
        # The money comes back: the refund's posting is reversed by a new transaction, never edited.
        await self.books.move(
            uow,
            "refund_reversal",
            payment.currency,
            refund.amount,
            AccountType.EXTERNAL,
            AccountType.MERCHANT,
            memo=f"failed refund {refund.id}",
            reference=payment.id,
        )
        await self.books.event(uow, updated, "refund.failed", refund_id=refund.id, amount=refund.amount)
        return "processed"
