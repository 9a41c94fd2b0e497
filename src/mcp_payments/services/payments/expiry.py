"""Expiry: an authorization not captured in time is canceled, and so is a payment left in requires_action."""

from __future__ import annotations

from datetime import datetime, timedelta

from mcp_payments.domain.payments import Payment, PaymentAction, PaymentStatus
from mcp_payments.services.payments.books import PaymentBooks
from mcp_payments.services.ports import PAYMENTS, Claim, Clock, PaymentProvider, UnitOfWork

A = PaymentAction


class PaymentExpiry:
    def __init__(
        self, clock: Clock, provider: PaymentProvider, books: PaymentBooks, action_ttl: timedelta = timedelta(days=1)
    ) -> None:
        self.clock = clock
        self.provider = provider
        self.books = books
        self.action_ttl = action_ttl

    async def due(self, uow: UnitOfWork, claim: Claim) -> list[Payment]:
        """Authorizations past their expiry and payments left in requires_action too long, claimed."""
        return await uow.repo(PAYMENTS).claim_due(claim, claim.now - self.action_ttl)

    async def expire(self, uow: UnitOfWork, payment: Payment) -> list[str]:
        """Cancel a claimed payment that is due; the provider is told to release an authorization."""
        now = self.clock.now()
        if payment.status is PaymentStatus.REQUIRES_CAPTURE:
            await self.books.attempt(uow, payment, "cancel", await self.provider.cancel(uow, payment.id))
            reason = "authorization_expired"
        else:
            reason = "action_timeout"
        expired = payment.moved(A.EXPIRE, now, amount_capturable=0, canceled_at=now, cancellation_reason=reason)
        await uow.repo(PAYMENTS).update(expired)
        await self.books.event(uow, expired, "payment.canceled", reason=reason)
        return [expired.id]

    async def oldest_due(self, uow: UnitOfWork, claim: Claim) -> datetime | None:
        """When the oldest due payment became due."""
        authorization, action = await uow.repo(PAYMENTS).oldest_due(claim, claim.now - self.action_ttl)
        candidates = [authorization, action + self.action_ttl if action is not None else None]
        return min((c for c in candidates if c is not None), default=None)
