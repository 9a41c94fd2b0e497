"""Approvals: a counted money call above approval_above, or a call a review holds (a sanctions screening of its
payee or of the customer it creates, a fraud score in the review band), waits for another principal, then runs once
or never.

Holding: the guard raises Held before anything moves (services/controls.py); the Dispatcher hands the command to
`hold`, which stores it as a pending approval in the call's own transaction, beside its idempotency record: a retry
with the same key gets the same pending answer and no second approval.

Deciding: `approve` moves the approval from pending with a conditional update and runs the stored command through
the Dispatcher (`run_in`: its limits checked again, approval_above excepted) in that same transaction, so of two
approvers at the same moment one runs it and the other is told it was decided. A stored command that fails when
it runs rolls back whole; the approval is then recorded as failed, with the error, in a transaction of its own
(ApprovedCallFailed.afterwards, written by services/calls.py). Expiry is a job: expire_approvals.

Webhooks: approval.requested when a call is held, approval.decided when it is executed, failed, rejected or
expired, each written to the outbox in the transaction that records it. They carry no arguments (which may hold
personal data or a memo): a receiver reads those with get_approval.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from mcp_payments.domain.approvals import ELICITATION, Approval, Status
from mcp_payments.domain.errors import (
    ApprovalNotFound,
    ApprovalNotPending,
    ApprovedCallFailed,
    CannotHoldForApproval,
    DomainError,
    SelfApproval,
)
from mcp_payments.domain.money import Money
from mcp_payments.services.commands import APPROVAL_ABOVE, Command, Dispatcher, Done, Held
from mcp_payments.services.notifications.endpoints import publish
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
        spend = held.spend
        if spend is not None and (
            given := sorted(name for name in command.sensitive if command.arguments.get(name) is not None)
        ):
            threshold = Money(held.threshold, spend.amount.currency)
            above = held.held_for == APPROVAL_ABOVE
            why = held.because or f"{command.tool} for {spend.amount} is above your approval threshold of {threshold}"
            otherwise = f", or ask for at most {threshold}" if above else ""
            raise CannotHoldForApproval(
                f"{why}, and a call that gives a raw card number ({', '.join(given)}) cannot wait for approval: card "
                "numbers are never stored. Pay with a saved payment method or token (e.g. "
                f"payment_method='pm_card_visa') to have it held for approval{otherwise}",
                limit=held.held_for,
                sensitive=given,
            )
        now = self.clock.now()
        approval = Approval(
            id=self.ids.new("apr"),
            tool=command.tool,
            principal=command.principal,
            role=command.role,
            credential=command.credential,
            arguments={k: v for k, v in command.arguments.items() if v is not None},
            currency=None if spend is None else spend.amount.currency.code,
            amount=None if spend is None else spend.amount.minor,
            payee=None if spend is None else spend.payee,
            threshold=held.threshold,
            status=Status.PENDING,
            created_at=now,
            expires_at=now + self.ttl,
            held_for=held.held_for,
        )
        await uow.repo(APPROVALS).add(approval)
        if held.then is not None:
            await held.then(approval.id)
        await self._publish(uow, "approval.requested", approval)
        return Done(pending_result(approval, held.because), (approval.id,), outcome="held")

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
        self, uow: UnitOfWork, approval_id: str, approver: str, dispatcher: Dispatcher, *, via: str | None = None
    ) -> tuple[Approval, Done]:
        """Run the stored command now, once, as its requester, in this transaction, through `dispatcher` (the
        approving server's, which has the handler of every tool it exposes). via=ELICITATION: the approver is the
        requester's human, who answered the server's question in the chat (see _pending)."""
        approval = await self._pending(uow, approval_id, approver, "approve", via)
        now = self.clock.now()
        executed = replace(approval, status=Status.EXECUTED, decided_by=approver, decided_at=now, decided_via=via)
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
        await self._publish(uow, "approval.decided", executed)
        return executed, done

    async def reject(
        self, uow: UnitOfWork, approval_id: str, rejecter: str, reason: str | None, *, via: str | None = None
    ) -> Approval:
        approval = await self._pending(uow, approval_id, rejecter, "reject", via)
        rejected = replace(
            approval,
            status=Status.REJECTED,
            decided_by=rejecter,
            decided_at=self.clock.now(),
            reason=reason,
            decided_via=via,
        )
        if not await uow.repo(APPROVALS).finish(rejected):
            raise _decided_meanwhile(approval_id)
        await self._publish(uow, "approval.decided", rejected)
        return rejected

    async def expired(self, uow: UnitOfWork, claim: Claim) -> list[Approval]:
        return await uow.repo(APPROVALS).expired(claim)

    async def expire(self, uow: UnitOfWork, approval: Approval) -> list[str]:
        """Mark an approval past its expiry as expired: it never runs."""
        expired = replace(approval, status=Status.EXPIRED, decided_at=self.clock.now())
        if not await uow.repo(APPROVALS).finish(expired):
            return []
        await self._publish(uow, "approval.decided", expired)
        return [approval.id]

    async def oldest_expired(self, uow: UnitOfWork, claim: Claim) -> datetime | None:
        return await uow.repo(APPROVALS).oldest_expired(claim)

    async def _pending(
        self, uow: UnitOfWork, approval_id: str, decider: str, verb: str, via: str | None = None
    ) -> Approval:
        approval = await uow.repo(APPROVALS).get(approval_id, lock=True)
        if approval is None:
            raise ApprovalNotFound(
                f"no approval {approval_id}: list_pending_approvals shows the pending ones", approval_id=approval_id
            )
        if via == ELICITATION:
            # Not self-approval by the agent. The rule "another principal decides" keeps an agent from approving
            # what it asked for with a tool call of its own. Here no tool call decides: the server itself asked the
            # human at the requester's client (an elicitation: the client shows it to its user, not to the model)
            # and acts on that human's answer. The principal is the same because the human is the one the agent
            # acts for, through that client; what differs is who answered, so it is recorded as its own kind of
            # decision (decided_via), and a deployment that does not trust its clients to ask a human sets
            # MCP_PAYMENTS_APPROVAL_MODE=queue. Only the requester's own client can be asked about its call.
            if approval.principal != decider:  # pragma: no cover  # the server asks only the requester's client
                raise ApprovalNotFound(f"no approval {approval_id} of yours to answer", approval_id=approval_id)
        elif approval.principal == decider:
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

    async def _publish(self, uow: UnitOfWork, event_type: str, approval: Approval) -> None:
        await publish(uow, self.ids, self.clock.now(), event_type, webhook_data(approval))

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
            if await uow.repo(APPROVALS).finish(failed):
                await self._publish(uow, "approval.decided", failed)

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


def webhook_data(approval: Approval) -> dict[str, Any]:
    """What an approval's webhook says: who asked for which tool and how much, and what became of it."""
    return {
        "object": "approval",
        "id": approval.id,
        "status": approval.status.value,
        "tool": approval.tool,
        "principal": approval.principal,
        "amount": approval.amount,
        "currency": approval.currency,
        "payee": approval.payee,
        "threshold": approval.threshold,
        "created_at": approval.created_at.isoformat(),
        "expires_at": approval.expires_at.isoformat(),
        "decided_by": approval.decided_by,
        "decided_at": approval.decided_at.isoformat() if approval.decided_at else None,
        "error_code": approval.error_code,
    }


# What a call held for another reason than its amount waits for, said when the hold's own sentence is not at hand
# (a later round of an elicited call answers from the stored approval): never "above a threshold of 0.00".
WAITS_FOR = {
    "sanctions_review": "a compliance review of its payee (list_compliance_flags)",
    "risk_review": "a fraud review of its score (list_fraud_alerts)",
}
# The same, for a call that spends nothing (create_customer, screened by the name of the customer it creates).
WAITS_FOR_NO_AMOUNT = {"sanctions_review": "a compliance review of the name it screened (list_compliance_flags)"}


def waits_for_what(approval: Approval) -> str:
    """What a call held for another reason than its amount waits for."""
    if approval.money is None:
        return WAITS_FOR_NO_AMOUNT.get(approval.held_for, "an operator's approval")
    return WAITS_FOR.get(approval.held_for, "an operator's approval")


def waits_for(approval: Approval) -> str:
    """Why a held call waits, in a sentence made of the stored approval alone."""
    amount = approval.money
    call = approval.tool if amount is None else f"{approval.tool} for {amount}"
    if approval.held_for in WAITS_FOR or amount is None:
        return f"{call} waits for {waits_for_what(approval)}"
    threshold = Money(approval.threshold, amount.currency)
    return f"{call} is above your approval threshold of {threshold}"


def pending_result(approval: Approval, because: str = "") -> dict[str, Any]:
    """What the held call answers (and what a replay of it answers again). `because`: why it waits, when that is
    not approval_above. A call that spends nothing (create_customer) has no amount."""
    amount = approval.money
    why = because or waits_for(approval)
    return {
        "status": PENDING_APPROVAL,
        "approval_id": approval.id,
        "expires_at": approval.expires_at.isoformat(),
        "message": f"{why}: if an operator or admin other than you approves {approval.id} before "
        f"{approval.expires_at.isoformat()}, it runs once as you asked, with your other limits checked again; "
        "get_approval shows the outcome.",
        "tool": approval.tool,
        "amount": None
        if amount is None
        else {"amount": amount.decimal(), "amount_minor": amount.minor, "currency": amount.currency.code},
        "entity_ids": [approval.id],
    }
