"""The fraud scoring repository port, reached as `uow.repo(RISK)`: the aggregates a score reads, and the stored
assessments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mcp_payments.domain.money import Money
from mcp_payments.domain.risk import Assessment, CardActivity, CustomerHistory
from mcp_payments.services.ports import Repo


@dataclass(frozen=True, slots=True)
class StoredAssessment:
    """A payment's score as it was made: with the payment it allowed, or the approval that holds the payment (a
    review), or neither (a block: no payment was made)."""

    id: str
    assessment: Assessment
    amount: Money
    card_fingerprint: str
    card_last4: str
    customer_id: str | None
    principal: str | None  # who asked; None for a payment made without a tool call
    created_at: datetime
    payment_id: str | None = None
    approval_id: str | None = None


class RiskRepository(Protocol):
    async def signals(
        self, fingerprint: str, since: datetime, small: Money, customer_id: str | None
    ) -> tuple[CardActivity, CustomerHistory | None]:
        """In one round trip: the card's attempts created at or after `since` (all of them, the declined, the declined
        of at most `small` in its currency, the held or refused), and the customer's creation, country and paid
        payments in `small`'s currency (None: no customer_id, or an unknown one)."""
        ...

    async def add(self, stored: StoredAssessment) -> None: ...
    async def for_payment(self, payment_id: str) -> StoredAssessment | None: ...
    async def alerts(self, decision: str | None, after: str | None, limit: int) -> list[StoredAssessment]:
        """Blocked and held assessments (or one decision of the two), newest first, after the cursor's id."""
        ...


RISK: Repo[RiskRepository] = Repo("risk")
