"""Fraud scoring: the aggregates a score reads (one query per signal), and the stored assessments."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import and_, case, func, insert, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.tables import customers, payments, risk_assessments
from mcp_payments.domain.money import Money
from mcp_payments.domain.payments import PaymentStatus
from mcp_payments.domain.risk import HISTORY, SCANNED, Assessment, CardActivity, CustomerHistory, Decision, Reason
from mcp_payments.services.risk_ports import StoredAssessment

_DECLINED = PaymentStatus.REQUIRES_PAYMENT_METHOD.value  # where a decline leaves a payment
_PAID = tuple(s.value for s in (PaymentStatus.SUCCEEDED, PaymentStatus.REQUIRES_CAPTURE))
_ALERTS = (Decision.REVIEW.value, Decision.BLOCK.value)


class SqlRisk:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn

    async def card_activity(self, fingerprint: str, since: Any, small: Money) -> CardActivity:
        # Only the card's latest SCANNED attempts are read: every rule saturates well within them, and the cost of a
        # score stays the same however busy the card has been.
        p, r = payments.c, risk_assessments.c
        latest = (
            select(p.status, p.decline_code, p.currency, p.amount)
            .where(p.card_fingerprint == fingerprint, p.created_at >= since)
            .order_by(p.created_at.desc())
            .limit(SCANNED)
            .subquery()
        )
        x = latest.c
        declined = and_(x.status == _DECLINED, x.decline_code.is_not(None))
        small_decline = and_(declined, x.currency == small.currency.code, x.amount <= small.minor)
        made = select(
            func.count().label("attempts"),
            _count_if(declined).label("declines"),
            _count_if(small_decline).label("small_declines"),
        ).subquery()
        # The attempts this score held or refused made no payment: they are counted from their assessments.
        stopped_latest = (
            select(r.currency, r.amount)
            .where(r.card_fingerprint == fingerprint, r.created_at >= since, r.payment_id.is_(None))
            .where(r.decision.in_(_ALERTS))
            .order_by(r.created_at.desc())
            .limit(SCANNED)
            .subquery()
        )
        y = stopped_latest.c
        small_stop = and_(y.currency == small.currency.code, y.amount <= small.minor)
        stopped = select(func.count().label("stops"), _count_if(small_stop).label("small_stops")).subquery()
        both = select(made, stopped).select_from(made.join(stopped, true()))  # two one-row aggregates, one trip
        row = (await self.conn.execute(both)).one()
        attempts = min(SCANNED, int(row.attempts) + int(row.stops))
        return CardActivity(attempts, int(row.declines), int(row.small_declines), int(row.small_stops))

    async def customer_history(self, customer_id: str, currency: str) -> CustomerHistory | None:
        # The average of the customer's latest HISTORY paid payments in the currency: what is usual now, read at a
        # bounded cost.
        p, c = payments.c, customers.c
        latest = (
            select(p.amount)
            .where(p.customer_id == customer_id, p.currency == currency, p.status.in_(_PAID))
            .order_by(p.created_at.desc())
            .limit(HISTORY)
            .subquery()
        )
        count = select(func.count()).select_from(latest).scalar_subquery()
        total = select(func.coalesce(func.sum(latest.c.amount), 0)).scalar_subquery()
        query = select(c.created_at, c.country, count.label("n"), total.label("total")).where(c.id == customer_id)
        row = (await self.conn.execute(query)).first()
        if row is None:
            return None
        n, paid_total = int(row.n), int(row.total)
        # The average in whole minor units, rounded half-even once (integers only: money is never a float).
        average = int((Decimal(paid_total) / n).quantize(Decimal(1), ROUND_HALF_EVEN)) if n else 0
        return CustomerHistory(row.created_at, row.country, n, average)

    async def add(self, s: StoredAssessment) -> None:
        a = s.assessment
        reasons = [{"rule": r.rule, "points": r.points, "text": r.text} for r in a.reasons]
        await self.conn.execute(
            insert(risk_assessments).values(
                id=s.id,
                decision=a.decision.value,
                score=a.score,
                reasons=json.dumps(reasons),
                amount=s.amount.minor,
                currency=s.amount.currency.code,
                card_fingerprint=s.card_fingerprint,
                card_last4=s.card_last4,
                customer_id=s.customer_id,
                principal=s.principal,
                payment_id=s.payment_id,
                approval_id=s.approval_id,
                created_at=s.created_at,
            )
        )

    async def for_payment(self, payment_id: str) -> StoredAssessment | None:
        query = select(risk_assessments).where(risk_assessments.c.payment_id == payment_id)
        row = (await self.conn.execute(query.order_by(risk_assessments.c.id.desc()).limit(1))).first()
        return None if row is None else _stored(row)

    async def alerts(self, decision: str | None, after: str | None, limit: int) -> list[StoredAssessment]:
        r = risk_assessments.c
        # The refused and the held: a held call approved later has its payment's own assessment besides.
        kinds = _ALERTS if decision is None else (decision,)
        query = select(risk_assessments).where(r.decision.in_(kinds), r.payment_id.is_(None))
        if after is not None:
            query = query.where(r.id < after)
        rows = await self.conn.execute(query.order_by(r.id.desc()).limit(limit))
        return [_stored(row) for row in rows]


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _stored(r: Any) -> StoredAssessment:
    reasons = tuple(Reason(x["rule"], int(x["points"]), x["text"]) for x in json.loads(r.reasons))
    return StoredAssessment(
        r.id,
        Assessment(int(r.score), Decision(r.decision), reasons),
        Money.of(int(r.amount), r.currency),
        r.card_fingerprint,
        r.card_last4,
        r.customer_id,
        r.principal,
        r.created_at,
        r.payment_id,
        r.approval_id,
    )
