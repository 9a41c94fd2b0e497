"""GDPR erasure: a customer's personal data is replaced with a pseudonym, its financial records are kept.

The customer's row keeps its id (what the books refer to) and gets a pseudonym for a name; its e-mail and
description (and country) go. Elsewhere, every free-text or JSON column that mentions the name, e-mail or description is
rewritten (adapters/db/erasure_repo.py lists them): journal memos, payment descriptions and events, stored
answers of idempotent calls, approvals, webhook events, screenings of the name. The audit chain needs no change:
its records hold ids and keyed hashes, never personal data (services/calls.py), so it verifies as before; the
journal's digests leave memos out (domain/audit.py), so the books and the chain still vouch for each other.

Erasing twice is harmless: the second call finds the customer erased and says when.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from mcp_payments.domain.erasure import pseudonym
from mcp_payments.domain.errors import CustomerNotFound
from mcp_payments.services.erasure_ports import ERASURE, Kept
from mcp_payments.services.ports import Clock, UnitOfWork

# Why each kind of record stays: said in the tool's answer, so that the person asking can be told.
WHY_KEPT = {
    "payments": "payment records are financial records kept for accounting and tax law; they now name only the "
    "customer id",
    "refunds": "refunds are part of the payments they return",
    "subscriptions": "billing history is a financial record",
    "invoices": "invoices must be kept for accounting and tax law",
    "journal_transactions": "the ledger is append-only and balances; its memos were rewritten where they named "
    "the customer",
    "audit_log": "the audit chain holds ids and keyed hashes only, no personal data, so it is kept unchanged and "
    "still verifies",
}


@dataclass(frozen=True, slots=True)
class ErasureReport:
    customer_id: str
    pseudonym: str
    erased_at: datetime
    already_erased: bool
    rewritten: dict[str, int] = field(default_factory=dict)  # rows rewritten per table.column, this call
    kept: Kept | None = None


class Erasure:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def erase(self, uow: UnitOfWork, customer_id: str) -> ErasureReport:
        repo = uow.repo(ERASURE)
        found = await repo.customer(customer_id, lock=True)
        if found is None:
            raise CustomerNotFound(
                f"customer {customer_id} does not exist: search with list_customers", customer_id=customer_id
            )
        alias = pseudonym(customer_id)
        kept = await repo.kept(customer_id)
        if found.erased_at is not None:
            return ErasureReport(customer_id, alias, found.erased_at, True, {}, kept)
        now = self.clock.now()
        rewritten = await repo.rewrite_mentions(found.personal, alias)
        for where, done in (await repo.erase_customer(customer_id, alias, now)).items():
            rewritten[where] = rewritten.get(where, 0) + done
        return ErasureReport(customer_id, alias, now, False, {"customers": 1, **rewritten}, kept)
