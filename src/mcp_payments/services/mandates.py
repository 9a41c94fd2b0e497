"""Mandates: granted by a human, cited by an agent's money call, debited in that call's own transaction.

A money call that cites a mandate is checked by the spending guard (services/controls.py) against the mandate
instead of the caller's policy: the mandate's row is locked (FOR UPDATE on PostgreSQL; SQLite has one writer),
read, debited and written back before the handler moves anything, so two calls cannot both spend what is left,
and a revocation either commits before the call reads the row (the call is refused) or waits for the call to
commit (the call completed within the mandate). A replay never reaches the guard, so it never debits twice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from mcp_payments.domain import mandates
from mcp_payments.domain.errors import InvalidInput
from mcp_payments.domain.limits import Counts, Spend
from mcp_payments.domain.mandates import Mandate, Period, Status
from mcp_payments.services.pages import Cursors, Page
from mcp_payments.services.ports import MANDATES, Clock, Ids, UnitOfWork

MANDATE_ARGUMENT = "mandate_id"  # the optional argument of every counted spend tool (server/registry.py)


class Mandates:
    def __init__(self, clock: Clock, ids: Ids, cursors: Cursors) -> None:
        self.clock = clock
        self.ids = ids
        self.cursors = cursors

    async def grant(
        self,
        uow: UnitOfWork,
        *,
        principal: str,
        currency: str,
        description: str,
        max_per_payment: int | None,
        max_total: int,
        period: Period,
        expires_at: datetime,
        allowed_payees: frozenset[str] | None,
        by: str,
    ) -> Mandate:
        """A new mandate for `principal`, granted by `by` (never to itself: authority comes from someone else)."""
        if principal == by:
            raise InvalidInput(
                f"{by} cannot grant a mandate to itself: a mandate is authority a human gives an agent principal"
            )
        now = self.clock.now()
        mandates.check_lifetime(expires_at, now)
        mandate = Mandate(
            id=self.ids.new(mandates.PREFIX),
            principal=principal,
            currency=currency,
            description=description,
            max_per_payment=max_total if max_per_payment is None else max_per_payment,
            max_total=max_total,
            period=period,
            expires_at=expires_at,
            created_at=now,
            created_by=by,
            allowed_payees=allowed_payees,
            period_start=mandates.period_start(period, now, now),
        )
        await uow.repo(MANDATES).add(mandate)
        return mandate

    @staticmethod
    async def get(uow: UnitOfWork, mandate_id: str, reader: str | None) -> Mandate:
        """The mandate; `reader` set: only if it is theirs (else the same not-found as an unknown id)."""
        mandate = await uow.repo(MANDATES).get(mandate_id)
        if mandate is None or (reader is not None and mandate.principal != reader):
            raise mandates.not_found(mandate_id)
        return mandate

    async def search(
        self, uow: UnitOfWork, principal: str | None, status: Status | None, cursor: str | None, limit: int
    ) -> Page[Mandate]:
        """Newest first; one principal's (None: everyone's), in one status (None: any)."""
        scope = f"mandates:{principal or '*'}:{status or '*'}"
        after = self.cursors.decode_str(scope, cursor)
        rows = await uow.repo(MANDATES).search(principal, status, self.clock.now(), after, limit + 1)
        return self.cursors.paginate(scope, rows, limit, lambda m: m.id)

    async def active(self, uow: UnitOfWork, principal: str, limit: int) -> list[Mandate]:
        """The principal's mandates it may cite now (neither revoked nor expired), newest first."""
        return await uow.repo(MANDATES).search(principal, Status.ACTIVE, self.clock.now(), None, limit)

    async def revoke(self, uow: UnitOfWork, mandate_id: str, by: str) -> Mandate:
        """Revoke at once: the row lock makes a call in flight finish first, or find it revoked."""
        repo = uow.repo(MANDATES)
        mandate = await repo.get(mandate_id, lock=True)
        if mandate is None:
            raise mandates.not_found(mandate_id)
        if mandate.revoked_at is not None:
            return mandate  # revoking twice changes nothing: the first revocation stands
        now = self.clock.now()
        await repo.revoke(mandate_id, now, by)
        return replace(mandate, revoked_at=now, revoked_by=by)

    async def debit(self, uow: UnitOfWork, principal: str, mandate_id: str, spend: Spend) -> Mandate:
        """Check `spend` against the mandate and debit it, in the caller's transaction, under the row's lock."""
        if spend.counts is not Counts.SPEND:
            raise InvalidInput("a mandate allows spending only: this call is not a spend")
        repo = uow.repo(MANDATES)
        mandate = await repo.get(mandate_id, lock=True)
        if mandate is None:
            raise mandates.not_found(mandate_id)
        debited = mandates.debit(mandate, principal, spend, self.clock.now())
        await repo.save_debit(debited)
        return debited

    @staticmethod
    async def credit(uow: UnitOfWork, mandate_id: str, spend: Spend) -> None:
        """Give back what `debit` took in this same transaction (its row is still locked by it)."""
        repo = uow.repo(MANDATES)
        mandate = await repo.get(mandate_id, lock=True)
        if mandate is not None:
            await repo.save_debit(replace(mandate, spent=max(mandate.spent - spend.amount.minor, 0)))
