"""Approvals: a call held for another principal's decision: a counted money call above its caller's approval_above,
or held by a review (a sanctions screening of its payee or of the customer it creates, a fraud score).

    pending ──approve──> executed   (the stored call ran, once, in the approver's transaction)
       │    └─approve──> failed     (the stored call failed when it ran: nothing moved)
       ├────reject─────> rejected
       └────expiry─────> expired    (the expire_approvals job, once expires_at has passed)

Every state but pending is terminal: a decided request is never decided again, and only a pending one runs.

Who decides: an operator or admin other than the requester (approve_request, reject_request, the CLI), or the human
at the requester's own client, answering the server's question in the chat (elicitation: decided_via ELICITATION).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from mcp_payments.domain.money import Money
from mcp_payments.domain.money import currency as currency_of

ELICITATION = "elicitation"  # decided_via: the human's answer, in the chat, through the requester's client


class Status(StrEnum):
    PENDING = "pending"
    EXECUTED = "executed"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        return self is not Status.PENDING


@dataclass(frozen=True, slots=True)
class Approval:
    """A held call: the command to run (tool, who asked and with what) and what became of it."""

    id: str
    tool: str
    principal: str  # who asked
    role: str | None
    credential: str | None
    arguments: dict[str, Any]  # as validated, JSON; never a sensitive argument (a card number)
    currency: str | None  # None with amount: the call spends nothing (create_customer held for a sanctions review)
    amount: int | None  # minor units of `currency`: what the call would spend
    payee: str | None
    threshold: int  # the approval_above it passed, minor units; 0 when held for another reason (held_for)
    status: Status
    created_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None  # the decider's reason (a rejection), or the failed call's error
    error_code: str | None = None
    result: dict[str, Any] | None = None  # the executed call's result, as it answered
    decided_via: str | None = None  # ELICITATION, or None: decided by another principal's tool call (or expired)
    # Why it waits: approval_above (its amount passed `threshold`), sanctions_review (a screening of its payee, or of
    # the name of the customer it creates, came back review) or risk_review (create_payment's fraud score is in the
    # review band); `threshold` is 0 for both.
    held_for: str = "approval_above"

    @property
    def money(self) -> Money | None:
        """What the call would spend; None for a call that spends nothing."""
        if self.amount is None or self.currency is None:
            return None
        return Money(self.amount, currency_of(self.currency))

    def pending_at(self, now: datetime) -> bool:
        return self.status is Status.PENDING and now < self.expires_at
