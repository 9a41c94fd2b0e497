"""The erasure and retention repository port, reached as `uow.repo(ERASURE)`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mcp_payments.domain.erasure import Personal
from mcp_payments.services.ports import Claim, Repo


@dataclass(frozen=True, slots=True)
class CustomerData:
    """A customer's personal data as stored, and when it was erased (None: not yet)."""

    id: str
    personal: Personal
    erased_at: datetime | None


@dataclass(frozen=True, slots=True)
class Kept:
    """What an erasure leaves in place, counted: financial records the law requires to be kept."""

    payments: int
    refunds: int
    subscriptions: int
    invoices: int
    journal_transactions: int


class ErasureRepository(Protocol):
    async def customer(self, customer_id: str, *, lock: bool = False) -> CustomerData | None: ...
    async def erase_customer(self, customer_id: str, pseudonym: str, now: datetime) -> dict[str, int]:
        """The customer's row: name and its search form become the pseudonym; e-mail, description and country go
        (and the country wherever it is repeated: rows rewritten per `table.column`)."""
        ...

    async def rewrite_mentions(self, personal: Personal, pseudonym: str) -> dict[str, int]:
        """Rewrite every free-text and JSON column that mentions the personal data (a memo, a stored answer, a
        webhook body, a screening of the name): rows rewritten per `table.column`, those with none left out."""
        ...

    async def kept(self, customer_id: str) -> Kept: ...

    # Retention (services/retention.py): each claims what is past its window, locked, and handles it.
    async def claim_old_screenings(self, claim: Claim, before: datetime) -> list[str]: ...
    async def redact_screening(self, screening_id: str) -> None: ...
    async def claim_old_spend_records(self, claim: Claim, before: datetime) -> list[int]: ...
    async def delete_spend_record(self, record_id: int) -> None: ...
    async def claim_old_deliveries(self, claim: Claim, before: datetime) -> list[str]: ...
    async def delete_delivery(self, delivery_id: str) -> None:
        """The delivery, and its event once no delivery of it is left."""
        ...

    async def oldest(self, what: str, before: datetime) -> datetime | None:
        """When the oldest row of `what` (screenings, spend_records, deliveries) past its window was written."""
        ...


ERASURE: Repo[ErasureRepository] = Repo("erasure")
