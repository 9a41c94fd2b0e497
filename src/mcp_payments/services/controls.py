"""Spending controls: the policy each principal spends under, checked in the transaction of the money it guards.

The check runs inside the command pipeline (services/commands.py Dispatcher), in the call's own unit of work,
after its idempotency key is claimed and before its handler moves anything. It locks the principal's spending in
that currency (a row lock on PostgreSQL; SQLite has one writer), sums what was counted in each window, decides
(domain/limits.py), and records this call's spend in the same transaction: a call that fails later rolls its
record back with it, and no two calls can both spend what is left.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from mcp_payments.domain import limits
from mcp_payments.domain.errors import InvalidInput, PolicyNotFound
from mcp_payments.domain.limits import Counts, Limit, Policy, Spend, Usage
from mcp_payments.domain.roles import Role
from mcp_payments.services.commands import Command, Held
from mcp_payments.services.mandates import MANDATE_ARGUMENT, Mandates
from mcp_payments.services.ports import SPENDING, Clock, SpendRecord, UnitOfWork


@dataclass(frozen=True, slots=True)
class Budget:
    """A policy in force for a principal, and what is left of it now."""

    policy: Policy
    usage: Usage


class SpendingControls:
    def __init__(self, clock: Clock, mandates: Mandates | None = None) -> None:
        self.clock = clock
        self.mandates = mandates

    async def check(self, uow: UnitOfWork, command: Command, spend: Spend, *, approved: bool = False) -> None:
        """Refuse the call (LimitExceeded, PayeeNotAllowed), hold it for approval (Held: a spend above
        approval_above that every other limit allows) or record what it counts; nothing without a policy.
        `approved`: the call runs now because another principal approved it, so approval_above does not apply.
        A call that cites a mandate is held to the mandate instead, and debits it."""
        if (mandate_id := command.arguments.get(MANDATE_ARGUMENT)) is not None:
            await self._debit_mandate(uow, command, spend, mandate_id)
            return
        code = spend.amount.currency.code
        policy = await in_force(uow, command.principal, _role(command.role), code)
        if policy is None:
            return
        repo = uow.repo(SPENDING)
        await repo.lock(command.principal, code)
        now = self.clock.now()
        usage = await repo.usage(command.principal, code, spend.payee, now)
        refusal = limits.decide(policy, usage, spend, now, approved=approved)
        if refusal is not None and refusal.limit is Limit.APPROVAL:
            raise Held(spend, refusal.value, limits.refused(refusal, spend, None, command.principal))
        if refusal is not None:
            resets_at = await self._frees_at(uow, command.principal, spend, refusal, now)
            raise limits.refused(refusal, spend, resets_at, command.principal)
        record = SpendRecord(command.principal, code, spend.counts, spend.amount.minor, spend.payee, command.tool, now)
        await repo.record(record)

    async def kept_failure(self, uow: UnitOfWork, command: Command, spend: Spend) -> None:
        """A declined charge moved no money: the mandate it cited gets its amount back. Against a policy it still
        counts (as before): a run of declined attempts is what velocity is there to stop."""
        if (mandate_id := command.arguments.get(MANDATE_ARGUMENT)) is not None and self.mandates is not None:
            await self.mandates.credit(uow, mandate_id, spend)

    async def _debit_mandate(self, uow: UnitOfWork, command: Command, spend: Spend, mandate_id: str) -> None:
        if self.mandates is None:  # pragma: no cover  # the controls category always wires mandates
            raise InvalidInput("this server does not take mandates: pay without mandate_id")
        await self.mandates.debit(uow, command.principal, mandate_id, spend)

    async def _frees_at(
        self, uow: UnitOfWork, principal: str, spend: Spend, refusal: limits.Refusal, now: datetime
    ) -> datetime | None:
        if refusal.window is None:
            return None  # a per-call limit, an expiry or the approval threshold: waiting changes nothing
        code, repo = spend.amount.currency.code, uow.repo(SPENDING)
        since = now - refusal.window
        if refusal.limit is Limit.VELOCITY:
            calls = await repo.counted(principal, code, None, None, since)
            return limits.frees_at([(at, 1) for at, _ in calls], refusal.value, 1, refusal.window)
        counts = Counts.REFUND if refusal.limit is Limit.REFUND_DAILY else Counts.SPEND
        payee = spend.payee if refusal.limit is Limit.PER_PAYEE_DAILY else None
        spent = await repo.counted(principal, code, counts, payee, since)
        return limits.frees_at(spent, refusal.value, spend.amount.minor, refusal.window)

    async def put_policy(self, uow: UnitOfWork, policy: Policy, by: str) -> Policy:
        """Create or replace the policy of its subject and currency, stamped with who set it and when."""
        now = self.clock.now()
        if policy.expires_at is not None and policy.expires_at <= now:
            raise InvalidInput(f"expires_at must be in the future (it is now {now.isoformat()})")
        stamped = replace(policy, updated_at=now, updated_by=by)
        await uow.repo(SPENDING).put_policy(stamped)
        return stamped

    @staticmethod
    async def remove_policy(uow: UnitOfWork, subject: str, code: str) -> None:
        """Remove a subject's policy in one currency: its principals then spend under their role's default, or
        without limits."""
        if not await uow.repo(SPENDING).delete_policy(subject, code):
            raise PolicyNotFound(
                f"{subject} has no spending policy in {code}: get_spending_policy lists the policies",
                subject=subject,
                currency=code,
            )

    async def budgets(self, uow: UnitOfWork, principal: str, role: Role | None) -> list[Budget]:
        """The policy in force for `principal` in each currency that has one, with its usage now."""
        subjects = [principal, *([limits.role_subject(role)] if role is not None else [])]
        found: dict[str, Policy] = {}
        for policy in await uow.repo(SPENDING).policies(subjects):
            if policy.subject == principal or policy.currency not in found:
                found[policy.currency] = policy
        now = self.clock.now()
        return [
            Budget(policy, await uow.repo(SPENDING).usage(principal, code, None, now))
            for code, policy in sorted(found.items())
        ]

    @staticmethod
    async def policies(uow: UnitOfWork, subject: str | None) -> list[Policy]:
        repo = uow.repo(SPENDING)
        return await (repo.all_policies() if subject is None else repo.policies([subject]))


async def in_force(uow: UnitOfWork, principal: str, role: Role | None, code: str) -> Policy | None:
    """The principal's own policy in this currency, else its role's default, else None (no limits)."""
    subjects = [principal, *([limits.role_subject(role)] if role is not None else [])]
    found = {p.subject: p for p in await uow.repo(SPENDING).policies(subjects, code)}
    return found.get(principal) or (found.get(limits.role_subject(role)) if role is not None else None)


def _role(text: str | None) -> Role | None:
    return Role(text) if text is not None else None
