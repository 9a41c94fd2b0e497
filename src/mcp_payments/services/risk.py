"""Fraud scoring of payments: the signals read in the payment's own transaction, the decision, and its record.

create_payment is reviewed before its spending limits are checked (Counting.review, services/commands.py), in
the call's unit of work: a score at the block threshold refuses it (risk_blocked, an audited refusal whose alert
is written beside its audit record); in the review band it is held for an operator's approval (Held, as
approval_above holds a call), and an approved call is scored again when it runs but never held again. A call
that goes on hands its assessment to the payment handler (`PaymentService.charge` stores it with the payment),
through a context variable of the call: the scoring queries run once per call.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from mcp_payments.domain import risk
from mcp_payments.domain.cards import PaymentMethod
from mcp_payments.domain.errors import RiskBlocked
from mcp_payments.domain.limits import Counts, Spend
from mcp_payments.domain.money import Money
from mcp_payments.domain.risk import Assessment, Decision, Rules, Signals
from mcp_payments.services.commands import Command, Held
from mcp_payments.services.pages import Cursors, Page
from mcp_payments.services.ports import Clock, Ids, UnitOfWork
from mcp_payments.services.risk_ports import RISK, StoredAssessment

_SCOPE = "fraud alerts"
RISK_REVIEW = "risk_review"  # an approval's held_for: its fraud score is in the review band


@dataclass(frozen=True, slots=True)
class _Assessed:
    """An assessment made by the review of the call now running, for its handler to store."""

    stored: StoredAssessment


_CURRENT: ContextVar[_Assessed | None] = ContextVar("mcp_payments_risk_assessed", default=None)


class FraudScreen:
    def __init__(self, clock: Clock, ids: Ids, rules: Rules, cursors: Cursors) -> None:
        self.clock = clock
        self.ids = ids
        self.rules = rules
        self.cursors = cursors

    async def assess(
        self, uow: UnitOfWork, amount: Money, method: PaymentMethod, customer_id: str | None
    ) -> Assessment:
        """Score a would-be payment against what happened before it (nothing is written)."""
        now = self.clock.now()
        since, small = now - self.rules.window, self.rules.small_in(amount.currency)
        card, history = await uow.repo(RISK).signals(method.fingerprint, since, small, customer_id)
        return risk.assess(Signals(amount, method.country, card, history), self.rules, now)

    async def review(
        self,
        uow: UnitOfWork,
        command: Command,
        amount: Money,
        method: PaymentMethod,
        customer_id: str | None,
        *,
        approved: bool,
    ) -> None:
        """Refuse (RiskBlocked), hold (Held) or let the call go on with its assessment (stored by the handler)."""
        assessment = await self.assess(uow, amount, method, customer_id)
        stored = self._stored(assessment, amount, method, customer_id, command.principal)
        _CURRENT.set(None)
        if assessment.decision is Decision.BLOCK:
            raise self._blocked(stored)
        if assessment.decision is Decision.REVIEW and not approved:
            review_band = f"the review band ({self.rules.review}-{self.rules.block - 1})"
            because = (
                f"{command.tool} for {amount} waits for a fraud review: its fraud score {assessment.score} is in "
                f"{review_band} (alert {stored.id}, list_fraud_alerts)"
            )

            async def keep_alert(approval_id: str) -> None:  # in the hold's transaction
                await uow.repo(RISK).add(replace(stored, approval_id=approval_id))

            # Where a call cannot wait (no approvals here), a score in the review band refuses it.
            refusal = self._blocked(stored, f", in {review_band}, and it cannot wait for approval here")
            spend = Spend(amount, Counts.SPEND, customer_id)
            raise Held(spend, 0, refusal, held_for=RISK_REVIEW, because=because, then=keep_alert)
        _CURRENT.set(_Assessed(stored))

    async def record(
        self, uow: UnitOfWork, payment_id: str, amount: Money, method: PaymentMethod, customer_id: str | None
    ) -> StoredAssessment:
        """Store the payment's assessment: the one its review made in this call, else a fresh one."""
        made = _CURRENT.get()
        _CURRENT.set(None)
        if made is not None and _same(made.stored, amount, method, customer_id):
            stored = replace(made.stored, payment_id=payment_id)
        else:
            assessment = await self.assess(uow, amount, method, customer_id)
            stored = replace(self._stored(assessment, amount, method, customer_id, None), payment_id=payment_id)
        await uow.repo(RISK).add(stored)
        return stored

    async def of_payment(self, uow: UnitOfWork, payment_id: str) -> StoredAssessment | None:
        return await uow.repo(RISK).for_payment(payment_id)

    async def alerts(
        self, uow: UnitOfWork, decision: Decision | None, cursor: str | None, limit: int
    ) -> Page[StoredAssessment]:
        scope = f"{_SCOPE} {decision or '*'}"
        after = self.cursors.decode_str(scope, cursor)
        rows = await uow.repo(RISK).alerts(None if decision is None else decision.value, after, limit + 1)
        return self.cursors.paginate(scope, rows, limit, lambda a: a.id)

    def _stored(
        self,
        assessment: Assessment,
        amount: Money,
        method: PaymentMethod,
        customer_id: str | None,
        principal: str | None,
    ) -> StoredAssessment:
        return StoredAssessment(
            self.ids.new("rsk"),
            assessment,
            amount,
            method.fingerprint,
            method.last4,
            customer_id,
            principal,
            self.clock.now(),
        )

    def _blocked(self, stored: StoredAssessment, band: str | None = None) -> RiskBlocked:
        a = stored.assessment
        where = band or f" (blocked at {self.rules.block})"
        error = RiskBlocked(
            f"risk_blocked: this payment's fraud score is {a.score}{where}: "
            f"{a.explained()}. Nothing was charged. Do not retry with other cards; ask the customer to contact "
            f"support, or an operator to review alert {stored.id} (list_fraud_alerts)",
            score=a.score,
            block_threshold=self.rules.block,
            reasons=[reason_out(r) for r in a.reasons],
            alert_id=stored.id,
        )

        async def keep_alert(uow: Any) -> None:  # in the refusal's own transaction, beside its audit record
            await uow.repo(RISK).add(stored)

        error.afterwards = keep_alert
        error.entities = (stored.id,)
        return error


def reason_out(r: risk.Reason) -> dict[str, Any]:
    return {"rule": r.rule, "points": r.points, "text": r.text}


def _same(stored: StoredAssessment, amount: Money, method: PaymentMethod, customer_id: str | None) -> bool:
    return (stored.amount, stored.card_fingerprint, stored.customer_id) == (amount, method.fingerprint, customer_id)
