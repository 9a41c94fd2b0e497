"""The human's answer in the chat: a held call decided by the human at its requester's client (decided_via
elicitation), through the same approve and reject paths as an operator's decision (services/approvals.py).

Each answer is a mutation of its own, audited under the requester's principal and credential with the held call's
tool and the outcome `executed:elicitation` or `rejected:elicitation`, so the chain shows that the human answered
through that principal's client. Its idempotency key is the approval's (`elicitation:apr_...`), and the approval
leaves pending in the answer's transaction: an answer is redeemed once, and one presented again is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mcp_payments.domain.approvals import ELICITATION, Approval
from mcp_payments.domain.audit import canonical_json
from mcp_payments.domain.errors import ApprovalDeclined, ApprovalNotPending
from mcp_payments.services.approvals import Approvals
from mcp_payments.services.calls import CallRunner
from mcp_payments.services.commands import Command, Dispatcher, Done, Outcome
from mcp_payments.services.ports import Clock, UnitOfWork

_WAITING_SCAN = 100  # the pending approvals of one principal looked through for a call asked about already


@dataclass(frozen=True, slots=True)
class Executed:
    """An approved call that ran: its own answer (the tool's model) and the receipt of the answer's record."""

    value: object
    receipt: dict[str, str]


class ApprovalAnswers:
    def __init__(self, calls: CallRunner, approvals: Approvals, dispatcher: Dispatcher, clock: Clock) -> None:
        self.calls = calls
        self.approvals = approvals
        self.dispatcher = dispatcher
        self.clock = clock

    async def approval(self, approval_id: str, principal: str) -> Approval:
        return await self.calls.read(lambda uow: self.approvals.get(uow, approval_id, principal, False))

    async def waiting(self, tool: str, principal: str, arguments: dict[str, object]) -> Approval | None:
        """The principal's newest pending approval of this very call (tool and arguments as stored), if any."""
        stored = canonical_json({k: v for k, v in arguments.items() if v is not None})
        page = await self.calls.read(lambda uow: self.approvals.pending(uow, principal, None, _WAITING_SCAN))
        same = [a for a in page.items if a.tool == tool and canonical_json(a.arguments) == stored]
        return next((a for a in reversed(same) if self.askable(a)), None)

    def askable(self, approval: Approval) -> bool:
        """Still pending, so a question about it can be answered."""
        return approval.pending_at(self.clock.now())

    async def approve(self, approval: Approval, credential: str | None) -> Executed:
        """Run the held call now, once, as the human answered: the approval path, decided via elicitation."""

        async def run(uow: UnitOfWork) -> Done:
            _, done = await self.approvals.approve(
                uow, approval.id, approval.principal, self.dispatcher, via=ELICITATION
            )
            return Done(done.response, (approval.id, *done.entities), done.value, outcome=f"executed:{ELICITATION}")

        outcome = await self._answer(approval, credential, "approve", run)
        return Executed(outcome.value, outcome.response["receipt"])

    async def reject(self, approval: Approval, credential: str | None) -> ApprovalDeclined:
        """Record the human's no: the approval is rejected and never runs. Returns what the agent is told."""
        reason = f"declined in the chat by the human at {approval.principal}'s client"

        async def run(uow: UnitOfWork) -> Done:
            rejected = await self.approvals.reject(uow, approval.id, approval.principal, reason, via=ELICITATION)
            return Done(
                {"approval_id": rejected.id, "status": rejected.status.value},
                (rejected.id,),
                None,
                outcome=f"rejected:{ELICITATION}",
            )

        await self._answer(approval, credential, "reject", run)
        call = approval.tool if approval.money is None else f"{approval.tool} for {approval.money}"
        return ApprovalDeclined(
            f"the human at your client declined {call} when asked in the chat: "
            f"{approval.id} is rejected, will never run, and nothing moved. Do not try it again unless they ask you to",
            approval_id=approval.id,
            status="rejected",
        )

    @staticmethod
    def redeemed(approval: Approval) -> ApprovalNotPending:
        """A later round of a call whose question was answered already (its state presented again)."""
        by = f" by {approval.decided_by}" if approval.decided_by else ""
        return ApprovalNotPending(
            f"this answer was already used: {approval.id} is {approval.status}{by}, and an answer counts once. "
            "Nothing was done again; get_approval shows its outcome",
            approval_id=approval.id,
            status=approval.status.value,
        )

    async def _answer(
        self, approval: Approval, credential: str | None, answer: str, run: Callable[[UnitOfWork], Awaitable[Done]]
    ) -> Outcome:
        arguments = {"approval_id": approval.id, "answer": answer, "via": ELICITATION}
        key = f"{ELICITATION}:{approval.id}"
        command = Command(approval.tool, approval.principal, arguments, key, frozenset(), credential, approval.role)
        outcome = await self.calls.mutate(command, run)
        if outcome.deduplicated:  # two rounds with one answer at the same moment: the other one redeemed it
            raise self.redeemed(await self.approval(approval.id, approval.principal))
        return outcome
