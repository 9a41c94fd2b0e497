"""Expiry: an authorization not captured in time is canceled, and so is a payment left in requires_action."""

from __future__ import annotations

from datetime import timedelta

from mcp_payments.domain.payments import Payment, PaymentAction, PaymentStatus
from mcp_payments.services.payments.books import PaymentBooks
from mcp_payments.services.ports import PAYMENTS, Clock, PaymentProvider, UnitOfWork

A = PaymentAction


class PaymentExpiry:
    def __init__(
        self, clock: Clock, provider: PaymentProvider, books: PaymentBooks, action_ttl: timedelta = timedelta(days=1)
    ) -> None:
        self.clock = clock
        self.provider = provider
        self.books = books
        self.action_ttl = action_ttl

    async def expire_due(self, uow: UnitOfWork, limit: int = 100) -> list[Payment]:
        """Cancel authorizations past their expiry and payments left in requires_action too long."""
        now = self.clock.now()
        done = []
        for payment in await uow.repo(PAYMENTS).claim_due(now, now - self.action_ttl, limit):
            if payment.status is PaymentStatus.REQUIRES_CAPTURE:
                await self.books.attempt(uow, payment, "cancel", await self.provider.cancel(payment.id))
                reason = "authorization_expired"
            else:
                reason = "action_timeout"
            expired = payment.moved(A.EXPIRE, now, amount_capturable=0, canceled_at=now, cancellation_reason=reason)
            await uow.repo(PAYMENTS).update(expired)
            await self.books.event(uow, expired, "payment.canceled", reason=reason)
            done.append(expired)
        return done
