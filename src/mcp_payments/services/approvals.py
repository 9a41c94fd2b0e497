"""Approvals: a counted money call above approval_above waits for another principal, then runs once or never.

Holding: the guard raises Held before anything moves (services/controls.py); the Dispatcher hands the command to
`hold`, which stores it as a pending approval in the call's own transaction, beside its idempotency record: a retry
with the same key gets the same pending answer and no second approval.

Deciding: `approve` moves the approval from pending with a conditional update and runs the stored command through
the Dispatcher (`run_in`: its limits checked again, approval_above excepted) in that same transaction, so of two
approvers at the same moment one runs it and the other is told it was decided. A stored command that fails when
it runs rolls back whole; the approval is then recorded as failed, with the error, in a transaction of its own
(ApprovedCallFailed.afterwards, written by services/calls.py). Expiry is a job: expire_approvals.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from mcp_payments.domain.approvals import Approval, Status
from mcp_payments.domain.errors import (
    ApprovalNotFound,
    ApprovalNotPending,
    ApprovedCallFailed,
    CannotHoldForApproval,
    DomainError,
    SelfApproval,
)
from mcp_payments.domain.money import Money
from mcp_payments.domain.money import currency as currency_of
from mcp_payments.services.commands import Command, Dispatcher, Done, Held
from mcp_payments.services.pages import Cursors, Page
from mcp_payments.services.ports import APPROVALS, Claim, Clock, Ids, UnitOfWork

PENDING_APPROVAL = "pending_approval"  # the status of a held call's result


class Approvals:
    def __init__(self, clock: Clock, ids: Ids, ttl: timedelta, cursors: Cursors) -> None:
        self.clock = clock
        self.ids = ids
        self.ttl = ttl
        self.cursors = cursors

    async def hold(self, uow: UnitOfWork, command: Command, held: Held) -> Done:
        """Store the held call as a pending approval; its result says so (status pending_approval)."""
        if given := sorted(name for name in command.sensitive if command.arguments.get(name) is not None):
            threshold = Money(held.threshold, held.spend.amount.currency)
            why = held.why or f"is above your approval threshold of {threshold}"
            otherwise = "" if held.why else f", or ask for at most {threshold}"
            raise CannotHoldForApproval(
                f"{command.tool} for {held.spend.amount} {why}, and a call "
                f"that gives a raw card number ({', '.join(given)}) cannot wait for approval: card numbers are "
                "never stored. Pay with a saved payment method or token (e.g. payment_method='pm_card_visa') to "
                f"have it held for approval{otherwise}",
                limit="approval_above" if held.why is None else "review",
                sensitive=given,
            )
        now = self.clock.now()
        spend = held.spend
        approval = Approval(
            id=self.ids.new("apr"),
            tool=command.tool,
            principal=command.principal,
            role=command.role,
            credential=command.credential,
            arguments={k: v for k, v in command.arguments.items() if v is not None},
            currency=spend.amount.currency.code,
            amount=spend.amount.minor,
            payee=spend.payee,
            threshold=held.threshold,
            status=Status.PENDING,
            created_at=now,
            expires_at=now + self.ttl,
            held_because=held.why,
        )
        await uow.repo(APPROVALS).add(approval)
        if held.then is not None:
            await held.then(approval.id)
        return Done(pending_result(approval), (approval.id,), outcome="held")

    async def get(self, uow: UnitOfWork, approval_id: str, reader: str, sees_all: bool) -> Approval:
        approval = await uow.repo(APPROVALS).get(approval_id)
        if approval is None or not (sees_all or approval.principal == reader):
            # Another principal's request is not there for an agent: the same answer as an unknown id.
            raise ApprovalNotFound(
                f"no approval {approval_id}: list_pending_approvals shows the pending ones you may see",
                approval_id=approval_id,
            )
        return approval

    async def pending(self, uow: UnitOfWork, principal: str | None, cursor: str | None, limit: int) -> Page[Approval]:
        scope = f"approvals {principal or '*'}"
        rows = await uow.repo(APPROVALS).pending(principal, self.cursors.decode_str(scope, cursor), limit + 1)
        return self.cursors.paginate(scope, rows, limit, lambda a: a.id)

    async def approve(
        self, uow: UnitOfWork, approval_id: str, approver: str, dispatcher: Dispatcher
    ) -> tuple[Approval, Done]:
        """Run the stored command now, once, as its requester, in this transaction, through `dispatcher` (the
        approving server's, which has the handler of every tool it exposes)."""
        approval = await self._pending(uow, approval_id, approver, "approve")
        now = self.clock.now()
        executed = replace(approval, status=Status.EXECUTED, decided_by=approver, decided_at=now)
        if not await uow.repo(APPROVALS).finish(executed):
            raise _decided_meanwhile(approval_id)
        command = Command(
            approval.tool, approval.principal, approval.arguments, None, frozenset(), approval.credential, approval.role
        )
        try:
            done = await dispatcher.run_in(uow, command, approved=True)
        except DomainError as error:
            raise self._failed(approval, approver, error) from error
        # The call's answer, with what it touched (an answer names its entities in its own fields).
        result = {**done.response, "entity_ids": list(done.entities)}
        executed = replace(executed, result=result)
        await uow.repo(APPROVALS).store_result(approval.id, result)
        return executed, done

    async def reject(self, uow: UnitOfWork, approval_id: str, rejecter: str, reason: str | None) -> Approval:
        approval = await self._pending(uow, approval_id, rejecter, "reject")
        rejected = replace(
            approval, status=Status.REJECTED, decided_by=rejecter, decided_at=self.clock.now(), reason=reason
        )
        if not await uow.repo(APPROVALS).finish(rejected):
            raise _decided_meanwhile(approval_id)
        return rejected

    async def expired(self, uow: UnitOfWork, claim: Claim) -> list[Approval]:
        return await uow.repo(APPROVALS).expired(claim)

    async def expire(self, uow: UnitOfWork, approval: Approval) -> list[str]:
        """Mark an approval past its expiry as expired: it never runs."""
        expired = replace(approval, status=Status.EXPIRED, decided_at=self.clock.now())
        return [approval.id] if await uow.repo(APPROVALS).finish(expired) else []

    async def oldest_expired(self, uow: UnitOfWork, claim: Claim) -> datetime | None:
        return await uow.repo(APPROVALS).oldest_expired(claim)

    async def _pending(self, uow: UnitOfWork, approval_id: str, decider: str, verb: str) -> Approval:
        approval = await uow.repo(APPROVALS).get(approval_id, lock=True)
        if approval is None:
            raise ApprovalNotFound(
                f"no approval {approval_id}: list_pending_approvals shows the pending ones", approval_id=approval_id
            )
        if approval.principal == decider:
            raise SelfApproval(
                f"you ({decider}) asked for {approval_id} yourself: another operator or admin must {verb} it",
                approval_id=approval_id,
                requester=approval.principal,
            )
        now = self.clock.now()
        if approval.status is not Status.PENDING:
            by = f" by {approval.decided_by}" if approval.decided_by else ""
            when = f" at {approval.decided_at.isoformat()}" if approval.decided_at else ""
            raise ApprovalNotPending(
                f"{approval_id} is {approval.status}{by}{when}, no longer pending: nothing was done. get_approval "
                "shows its outcome",
                approval_id=approval_id,
                status=approval.status.value,
            )
        if not approval.pending_at(now):
            raise ApprovalNotPending(
                f"{approval_id} expired at {approval.expires_at.isoformat()} and will never run: the requester may "
                "ask again",
                approval_id=approval_id,
                status=Status.EXPIRED.value,
            )
        return approval

    def _failed(self, approval: Approval, approver: str, error: DomainError) -> ApprovedCallFailed:
        failed = replace(
            approval,
            status=Status.FAILED,
            decided_by=approver,
            decided_at=self.clock.now(),
            reason=error.message[:1000],
            error_code=error.code,
        )

        async def record(uow: UnitOfWork) -> None:
            await uow.repo(APPROVALS).finish(failed)

        refusal = ApprovedCallFailed(
            f"{approval.id} was approved, but its {approval.tool} failed when it ran and nothing moved: "
            f"{error.message.rstrip('.')}. The approval is now failed and will not run again; the requester may ask "
            "again once the cause is fixed",
            approval_id=approval.id,
            status=Status.FAILED.value,
            error_code=error.code,
            error_message=error.message,
        )
        refusal.entities = (approval.id,)
        refusal.afterwards = record
        return refusal


def _decided_meanwhile(approval_id: str) -> ApprovalNotPending:
    return ApprovalNotPending(
        f"{approval_id} was decided by someone else a moment ago: nothing was done. get_approval shows its outcome",
        approval_id=approval_id,
    )


def pending_result(approval: Approval) -> dict[str, Any]:
    """What the held call answers (and what a replay of it answers again)."""
    amount = Money(approval.amount, currency_of(approval.currency))
    threshold = Money(approval.threshold, currency_of(approval.currency))
    why = approval.held_because or f"is above your approval threshold of {threshold}"
    return {
        "status": PENDING_APPROVAL,
        "approval_id": approval.id,
        "expires_at": approval.expires_at.isoformat(),
        "message": f"{approval.tool} for {amount} {why}: if an operator "
        f"or admin other than you approves {approval.id} before {approval.expires_at.isoformat()}, it runs once "
        "as you asked, with your other limits checked again; get_approval shows the outcome.",
        "tool": approval.tool,
        "amount": {"amount": amount.decimal(), "amount_minor": amount.minor, "currency": amount.currency.code},
        "entity_ids": [approval.id],
    }
