"""What a fraud score looks like to an agent: the score, the decision, and the reasons a person can read."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from mcp_payments.domain.risk import Assessment, Reason
from mcp_payments.server.tools.models import MoneyOut
from mcp_payments.services.risk_ports import StoredAssessment


class ReasonOut(BaseModel):
    rule: Literal["velocity", "card_testing", "amount", "country", "new_customer"]
    points: int = Field(description="What the rule added to the score.")
    text: str = Field(description="What it saw, in words.")

    @classmethod
    def of(cls, r: Reason) -> "ReasonOut":
        return cls.model_validate({"rule": r.rule, "points": r.points, "text": r.text})


class RiskOut(BaseModel):
    score: int = Field(description="0 (no risk seen) to 100; the sum of the reasons' points, at most 100.")
    decision: Literal["allow", "review", "block"] = Field(
        description="allow: it goes ahead. review: held for an operator's approval (pending_approval). block: "
        "refused with risk_blocked."
    )
    reasons: list[ReasonOut] = Field(description="Every rule that fired; empty when none did.")

    @classmethod
    def of(cls, a: Assessment) -> "RiskOut":
        return cls(score=a.score, decision=a.decision.value, reasons=[ReasonOut.of(r) for r in a.reasons])


class FraudAlertOut(BaseModel):
    id: str = Field(description="The alert's id (rsk_...); a risk_blocked error names it as alert_id.")
    risk: RiskOut
    amount: MoneyOut
    card_last4: str
    card_fingerprint: str = Field(description="The card's fingerprint: the same card, the same fingerprint.")
    customer_id: str | None
    requested_by: str | None = Field(description="The principal whose create_payment it was.")
    approval_id: str | None = Field(
        description="A held payment's approval: get_approval shows what became of it (its result names the payment "
        "once approved); null for a blocked one, which was never made."
    )
    created_at: datetime

    @classmethod
    def of(cls, s: StoredAssessment) -> "FraudAlertOut":
        return cls(
            id=s.id,
            risk=RiskOut.of(s.assessment),
            amount=MoneyOut.of(s.amount.minor, s.amount.currency.code),
            card_last4=s.card_last4,
            card_fingerprint=s.card_fingerprint,
            customer_id=s.customer_id,
            requested_by=s.principal,
            approval_id=s.approval_id,
            created_at=s.created_at,
        )
