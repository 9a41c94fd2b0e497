"""Approval tools: held calls (money calls, and create_customer held for a sanctions review), read by their
requester and decided by another operator or admin."""

from datetime import datetime
from typing import Annotated, Any, Literal, cast, get_args

from pydantic import BaseModel, Field

from mcp_payments.domain.approvals import ELICITATION, Approval
from mcp_payments.domain.roles import Role
from mcp_payments.server.callers import current_caller
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.models import MoneyOut, Mutation
from mcp_payments.server.tools.params import FREE_TEXT, Cursor, Limit
from mcp_payments.server.tools.policies import PrincipalName
from mcp_payments.services.approval_answers import ApprovalAnswers
from mcp_payments.services.approvals import Approvals
from mcp_payments.services.commands import Kind
from mcp_payments.services.container import Services
from mcp_payments.services.ports import UnitOfWork

ApprovalId = Annotated[
    str,
    Field(
        pattern="^apr_[0-9A-Z]{26}$",
        max_length=30,
        description="An approval id, as a held call answered it (approval_id), e.g. apr_01JB...",
    ),
]
HeldFor = Literal["approval_above", "sanctions_review", "risk_review"]  # Approval.held_for's values
Reason = Annotated[
    str | None,
    Field(default=None, min_length=1, max_length=500, description="Why, for the requester and the record."),
    FREE_TEXT,
]


class ApprovalOut(BaseModel):
    id: str
    status: Literal["pending", "executed", "failed", "rejected", "expired"] = Field(
        description="pending: waits for a decision; executed: approved and ran once (see result); failed: approved "
        "but the call failed when it ran (see error_code, reason), nothing moved; rejected; expired: never ran."
    )
    tool: str = Field(description="The call that waits, as its requester made it.")
    requested_by: str
    arguments: dict[str, Any] = Field(description="The call's arguments, as its requester gave them.")
    amount: MoneyOut | None = Field(
        description="What the call would spend; null for a call that spends nothing (create_customer)."
    )
    payee: str | None
    threshold: MoneyOut | None = Field(
        description="The requester's approval_above that the amount is above (0 when held for another reason; "
        "null when the call spends nothing)."
    )
    held_for: HeldFor = Field(
        description="Why it waits: approval_above (its amount), sanctions_review (a sanctions screening of its "
        "payee, or of the name of the customer create_customer would create, came back review; "
        "list_compliance_flags shows the flag), or risk_review (create_payment's fraud score is in the review "
        "band; list_fraud_alerts shows the alert)."
    )
    created_at: datetime
    expires_at: datetime
    decided_by: str | None = Field(description="Who approved or rejected it; null while pending or once expired.")
    decided_via: Literal["elicitation"] | None = Field(
        default=None,
        description="elicitation: the requester's human answered the server's question in the chat, through the "
        "requester's own client; null: another operator or admin decided (approve_request, reject_request, the CLI).",
    )
    decided_at: datetime | None
    reason: str | None = Field(description="The rejection's reason, or the failed call's error message.")
    error_code: str | None = Field(description="The failed call's error code.")
    result: dict[str, Any] | None = Field(description="The executed call's result, as it answered.")

    @classmethod
    def of(cls, a: Approval) -> "ApprovalOut":
        return cls(
            id=a.id,
            status=a.status.value,
            tool=a.tool,
            requested_by=a.principal,
            arguments=a.arguments,
            amount=None if a.amount is None or a.currency is None else MoneyOut.of(a.amount, a.currency),
            payee=a.payee,
            threshold=None if a.currency is None else MoneyOut.of(a.threshold, a.currency),
            held_for=cast(HeldFor, a.held_for) if a.held_for in get_args(HeldFor) else "approval_above",
            created_at=a.created_at,
            expires_at=a.expires_at,
            decided_by=a.decided_by,
            decided_via="elicitation" if a.decided_via == ELICITATION else None,
            decided_at=a.decided_at,
            reason=a.reason,
            error_code=a.error_code,
            result=a.result,
        )


class ApprovalDecision(Mutation):
    approval: ApprovalOut

    def entity_ids(self) -> tuple[str, ...]:
        executed = (self.approval.result or {}).get("entity_ids") or []
        return (self.approval.id, *executed)

    def audit_outcome(self) -> str:
        return self.approval.status


class PendingApprovals(BaseModel):
    approvals: list[ApprovalOut] = Field(description="Oldest first.")
    next_cursor: str | None


def register(box: Toolbox, app: Services) -> None:
    approvals = app.get(Approvals)
    box.dispatcher.holder = approvals
    box.answers = ApprovalAnswers(box.calls, approvals, box.dispatcher, approvals.clock)

    @box.query(toolset="controls", title="List pending approvals")
    async def list_pending_approvals(
        uow: UnitOfWork,
        principal: Annotated[
            PrincipalName | None,
            Field(default=None, description="Only this requester's (operator or higher; an agent sees its own)."),
        ] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> PendingApprovals:
        """List the calls waiting for approval (money calls, and new customers held for a sanctions review), oldest
        first: an operator or admin sees everyone's, anyone else only their own. Approve or
        reject one with approve_request or reject_request."""
        caller = current_caller()
        if not caller.role.covers(Role.OPERATOR):
            if principal is not None and principal != caller.principal:
                raise caller.refusal("list_pending_approvals of another principal", Kind.APPROVE)
            principal = caller.principal
        page = await approvals.pending(uow, principal, cursor, limit)
        return PendingApprovals(approvals=[ApprovalOut.of(a) for a in page.items], next_cursor=page.next_cursor)

    @box.query(toolset="controls", title="Get approval")
    async def get_approval(uow: UnitOfWork, approval_id: ApprovalId) -> ApprovalOut:
        """Read one approval: whether it waits, ran, failed, was rejected or expired, who decided, and the executed
        call's result. Its requester may read it; so may an operator or admin."""
        caller = current_caller()
        return ApprovalOut.of(
            await approvals.get(uow, approval_id, caller.principal, caller.role.covers(Role.OPERATOR))
        )

    @box.command(kind=Kind.APPROVE, toolset="controls", title="Approve request", destructive=True)
    async def approve_request(uow: UnitOfWork, approval_id: ApprovalId) -> ApprovalDecision:
        """Approve a held call and run it now, once, as its requester asked, with the requester's other
        limits checked again. You must be an operator or admin other than the requester. If the call fails when
        it runs (say the wallet no longer has the funds), nothing moves and the approval is recorded as failed."""
        approval, _ = await approvals.approve(uow, approval_id, current_caller().principal, box.dispatcher)
        return ApprovalDecision(approval=ApprovalOut.of(approval))

    @box.command(kind=Kind.APPROVE, toolset="controls", title="Reject request")
    async def reject_request(uow: UnitOfWork, approval_id: ApprovalId, reason: Reason = None) -> ApprovalDecision:
        """Reject a held call: it never runs, and its requester can read your reason with get_approval. You
        must be an operator or admin other than the requester."""
        rejected = await approvals.reject(uow, approval_id, current_caller().principal, reason)
        return ApprovalDecision(approval=ApprovalOut.of(rejected))
