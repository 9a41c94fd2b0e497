"""Fraud scoring: the aggregates a score reads (one query per signal), and the stored assessments."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import BigInteger, String, and_, bindparam, case, func, insert, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.tables import UTCDateTime, customers, payments, risk_assessments
from mcp_payments.domain.money import Money
from mcp_payments.domain.payments import PaymentStatus
from mcp_payments.domain.risk import HISTORY, SCANNED, Assessment, CardActivity, CustomerHistory, Decision, Reason
from mcp_payments.services.risk_ports import StoredAssessment

_DECLINED = PaymentStatus.REQUIRES_PAYMENT_METHOD.value  # where a decline leaves a payment
_PAID = tuple(s.value for s in (PaymentStatus.SUCCEEDED, PaymentStatus.REQUIRES_CAPTURE))
_ALERTS = (Decision.REVIEW.value, Decision.BLOCK.value)
_FINGERPRINT, _SINCE = bindparam("fingerprint", type_=String), bindparam("since", type_=UTCDateTime)
_CURRENCY, _SMALL = bindparam("currency", type_=String), bindparam("small", type_=BigInteger)
_CUSTOMER = bindparam("customer_id", type_=String)


class SqlRisk:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn

    async def signals(
        self, fingerprint: str, since: Any, small: Money, customer_id: str | None
    ) -> tuple[CardActivity, CustomerHistory | None]:
        params = {"fingerprint": fingerprint, "since": since, "currency": small.currency.code, "small": small.minor}
        if customer_id is None:
            row = (await self.conn.execute(_CARD_ONLY, params)).one()
        else:
            row = (await self.conn.execute(_WITH_CUSTOMER, {**params, "customer_id": customer_id})).one()
        attempts = min(SCANNED, int(row.attempts) + int(row.stops))
        card = CardActivity(attempts, int(row.declines), int(row.small_declines), int(row.small_stops))
        if customer_id is None or row.customer_created_at is None:
            return card, None
        n, paid_total = int(row.paid_count), int(row.paid_total)
        # The average in whole minor units, rounded half-even once (integers only: money is never a float).
        average = int((Decimal(paid_total) / n).quantize(Decimal(1), ROUND_HALF_EVEN)) if n else 0
        return card, CustomerHistory(row.customer_created_at, row.customer_country, n, average)

    async def add(self, s: StoredAssessment) -> None:
        a = s.assessment
        reasons = [{"rule": r.rule, "points": r.points, "text": r.text} for r in a.reasons]
        await self.conn.execute(
            _INSERT,
            dict(
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
            ),
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


# Only a card's latest SCANNED attempts are read (every rule saturates well within them) and a customer's latest
# HISTORY paid payments: a score costs the same however busy the card or the customer has been.


def _card() -> Any:
    """The card's payments in the window: all, declined, declined of at most `small`."""
    p = payments.c
    latest = (
        select(p.status, p.decline_code, p.currency, p.amount)
        .where(p.card_fingerprint == _FINGERPRINT, p.created_at >= _SINCE)
        .order_by(p.created_at.desc())
        .limit(SCANNED)
        .subquery()
    )
    x = latest.c
    declined = and_(x.status == _DECLINED, x.decline_code.is_not(None))
    small_decline = and_(declined, x.currency == _CURRENCY, x.amount <= _SMALL)
    return select(
        func.count().label("attempts"),
        _count_if(declined).label("declines"),
        _count_if(small_decline).label("small_declines"),
    ).subquery()


def _stopped() -> Any:
    """The card's attempts this score held or refused in the window (they made no payment), and the small ones."""
    r = risk_assessments.c
    latest = (
        select(r.currency, r.amount)
        .where(r.card_fingerprint == _FINGERPRINT, r.decision.in_(_ALERTS), r.created_at >= _SINCE)
        .where(r.payment_id.is_(None))
        .order_by(r.created_at.desc())
        .limit(SCANNED)
        .subquery()
    )
    y = latest.c
    small_stop = and_(y.currency == _CURRENCY, y.amount <= _SMALL)
    return select(func.count().label("stops"), _count_if(small_stop).label("small_stops")).subquery()


def _customer() -> Any:
    """The customer's creation and country, and its latest paid payments in the currency: count and total."""
    p, c = payments.c, customers.c
    latest = (
        select(p.amount)
        .where(p.customer_id == _CUSTOMER, p.currency == _CURRENCY, p.status.in_(_PAID))
        .order_by(p.created_at.desc())
        .limit(HISTORY)
        .subquery()
    )
    count = select(func.count()).select_from(latest).scalar_subquery()
    total = select(func.coalesce(func.sum(latest.c.amount), 0)).scalar_subquery()
    return (
        select(
            c.created_at.label("customer_created_at"),
            c.country.label("customer_country"),
            count.label("paid_count"),
            total.label("paid_total"),
        )
        .where(c.id == _CUSTOMER)
        .subquery()
    )


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _signals(with_customer: bool) -> Any:
    """One round trip: one-row aggregates joined on true (the customer outer-joined: it may not exist)."""
    made, stopped = _card(), _stopped()
    parts: list[Any] = [made, stopped]
    joined = made.join(stopped, true())
    if with_customer:
        customer = _customer()
        parts.append(customer)
        joined = joined.outerjoin(customer, true())
    return select(*parts).select_from(joined)


# Built once: building this statement costs several times what running it does.
_INSERT = insert(risk_assessments)
_CARD_ONLY = _signals(with_customer=False)
_WITH_CUSTOMER = _signals(with_customer=True)


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
