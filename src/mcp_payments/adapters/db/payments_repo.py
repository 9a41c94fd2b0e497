"""Customers, payments, refunds and inbound provider events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, case, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.jobs_repo import claimable, claiming
from mcp_payments.adapters.db.plain_rows import insert_rows, update_row
from mcp_payments.adapters.db.rows import row_of
from mcp_payments.adapters.db.tables import (
    UTCDateTime,
    customers,
    payment_attempts,
    payment_events,
    payments,
    provider_events,
    refunds,
)
from mcp_payments.domain.audit import canonical_json
from mcp_payments.domain.cards import PaymentMethod
from mcp_payments.domain.payments import (
    Attempt,
    Customer,
    Payment,
    PaymentEvent,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from mcp_payments.services.ports import Claim, InboundEvent, PaymentFilter


class SqlCustomers:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn

    async def add(self, c: Customer) -> None:
        await self.conn.execute(
            insert(customers).values(
                id=c.id,
                email=c.email,
                email_normalized=c.email.lower() if c.email else None,
                name=c.name,
                name_normalized=c.name.lower() if c.name else None,
                description=c.description,
                created_at=c.created_at,
                country=c.country,
            )
        )

    async def get(self, customer_id: str) -> Customer | None:
        row = (await self.conn.execute(select(customers).where(customers.c.id == customer_id))).first()
        return _customer(row) if row else None

    async def search(self, email: str | None, name: str | None, after: str | None, limit: int) -> list[Customer]:
        query = select(customers).order_by(customers.c.id).limit(limit)
        if email is not None:
            query = query.where(customers.c.email_normalized == email.lower())
        if name is not None:
            pattern = "%" + name.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(customers.c.name_normalized.like(pattern, escape="\\"))
        if after is not None:
            query = query.where(customers.c.id > after)
        return [_customer(r) for r in await self.conn.execute(query)]


class SqlPayments:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.driver = driver
        self.pg = driver.dialect == "postgresql"

    # A payment, its attempt and its events are written as plain SQL: every charge writes them (plain_rows.py).
    async def add(self, p: Payment) -> None:
        await insert_rows(self.driver, payments, [_payment_row(p)])

    async def get(self, payment_id: str, *, lock: bool = False) -> Payment | None:
        query = select(payments).where(payments.c.id == payment_id)
        if lock and self.pg:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        return _payment(row) if row else None

    async def update(self, p: Payment) -> None:
        await update_row(self.driver, payments, _payment_row(p))

    async def search(self, where: PaymentFilter, before: str | None, limit: int) -> list[Payment]:
        query = select(payments).where(*_filtered(where)).order_by(payments.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(payments.c.id < before)
        return [_payment(r) for r in await self.conn.execute(query)]

    async def search_by_created(
        self, where: PaymentFilter, before: tuple[datetime, str] | None, limit: int
    ) -> list[Payment]:
        # Keyset paging on (created_at, id), read backwards through ix_payments_created_at_id (or
        # ix_payments_status_created_at_id with a status): a page costs the same however wide the range is.
        p = payments.c
        query = select(payments).where(*_filtered(where)).order_by(p.created_at.desc(), p.id.desc()).limit(limit)
        if before is not None:
            at, payment_id = before
            query = query.where(tuple_(p.created_at, p.id) < tuple_(bindparam(None, at, UTCDateTime()), payment_id))
        return [_payment(r) for r in await self.conn.execute(query)]

    async def add_attempt(self, payment_id: str, a: Attempt) -> None:
        row = {
            "payment_id": payment_id,
            "action": a.action,
            "outcome": a.outcome,
            "decline_code": a.decline_code,
            "created_at": a.created_at,
        }
        await insert_rows(self.driver, payment_attempts, [row])

    async def attempts(self, payment_id: str) -> list[Attempt]:
        rows = await self.conn.execute(
            select(payment_attempts).where(payment_attempts.c.payment_id == payment_id).order_by(payment_attempts.c.id)
        )
        return [Attempt(r.action, r.outcome, r.decline_code, r.created_at) for r in rows]

    async def add_events(self, payment_id: str, events: Sequence[PaymentEvent]) -> None:
        rows = [
            {"payment_id": payment_id, "type": e.type, "data": canonical_json(e.data), "created_at": e.created_at}
            for e in events
        ]
        await insert_rows(self.driver, payment_events, rows)

    async def events(self, payment_id: str) -> list[PaymentEvent]:
        rows = await self.conn.execute(
            select(payment_events).where(payment_events.c.payment_id == payment_id).order_by(payment_events.c.id)
        )
        return [PaymentEvent(r.type, r.created_at, json.loads(r.data)) for r in rows]

    async def add_refund(self, r: Refund) -> None:
        await self.conn.execute(insert(refunds).values(row_of(r)))

    async def get_refund(self, refund_id: str, *, lock: bool = False) -> Refund | None:
        query = select(refunds).where(refunds.c.id == refund_id)
        if lock and self.pg:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        return _refund(row) if row else None

    async def update_refund(self, r: Refund) -> None:
        await self.conn.execute(update(refunds).where(refunds.c.id == r.id).values(row_of(r)))

    async def refunds(self, payment_id: str) -> list[Refund]:
        rows = await self.conn.execute(
            select(refunds).where(refunds.c.payment_id == payment_id).order_by(refunds.c.created_at, refunds.c.id)
        )
        return [_refund(r) for r in rows]

    async def claim_due(self, claim: Claim, action_cutoff: datetime) -> list[Payment]:
        query = select(payments).where(_due(claim, action_cutoff)).order_by(payments.c.id)
        return [_payment(r) for r in await self.conn.execute(claiming(query, claim, self.pg))]

    async def oldest_due(self, claim: Claim, action_cutoff: datetime) -> tuple[datetime | None, datetime | None]:
        expiring = payments.c.status == PaymentStatus.REQUIRES_CAPTURE.value
        query = select(
            func.min(case((expiring, payments.c.authorization_expires_at))),
            func.min(case((~expiring, payments.c.updated_at))),
        ).where(_due(claim, action_cutoff))
        authorization, action = (await self.conn.execute(query)).one()
        return _utc(authorization), _utc(action)


class SqlProviderEvents:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.pg = driver.dialect == "postgresql"

    async def record(self, event_id: str, type: str, payload: dict[str, Any], now: datetime) -> bool:
        row = {
            "id": event_id,
            "type": type,
            "payload": canonical_json(payload),
            "status": "pending",
            "attempts": 0,
            "received_at": now,
        }
        upsert = pg_insert if self.pg else sqlite_insert
        result = await self.conn.execute(
            upsert(provider_events).values(row).on_conflict_do_nothing().returning(provider_events.c.id)
        )
        return result.first() is not None

    async def mark(self, event_id: str, status: str, now: datetime) -> None:
        await self.conn.execute(
            update(provider_events)
            .where(provider_events.c.id == event_id)
            .values(
                status=status,
                attempts=provider_events.c.attempts + 1,
                processed_at=now if status != "pending" else None,
            )
        )

    async def claim_pending(self, claim: Claim) -> list[InboundEvent]:
        query = (
            select(provider_events)
            .where(provider_events.c.status == "pending", claimable(claim, provider_events.c.id))
            .order_by(provider_events.c.received_at, provider_events.c.id)
        )
        rows = await self.conn.execute(claiming(query, claim, self.pg))
        return [InboundEvent(r.id, r.type, json.loads(r.payload), r.attempts) for r in rows]

    async def oldest_pending(self, claim: Claim) -> datetime | None:
        query = select(func.min(provider_events.c.received_at)).where(
            provider_events.c.status == "pending", claimable(claim, provider_events.c.id)
        )
        oldest: datetime | None = (await self.conn.execute(query)).scalar_one()
        return oldest


def _due(claim: Claim, action_cutoff: datetime) -> ColumnElement[bool]:
    """Authorizations past their expiry, and payments left in requires_action since before the cutoff."""
    return or_(
        (payments.c.status == PaymentStatus.REQUIRES_CAPTURE.value)
        & (payments.c.authorization_expires_at <= claim.now),
        (payments.c.status == PaymentStatus.REQUIRES_ACTION.value) & (payments.c.updated_at <= action_cutoff),
    ) & claimable(claim, payments.c.id)


def _utc(value: Any) -> datetime | None:
    """A MIN over a CASE loses the column's type: SQLite gives its stored text, naive UTC."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _customer(r: Row[Any]) -> Customer:
    return Customer(r.id, r.email, r.name, r.description, r.created_at, country=r.country, erased_at=r.erased_at)


def _payment_row(p: Payment) -> dict[str, Any]:
    m = p.method
    return {
        "id": p.id,
        "amount": p.amount,
        "currency": p.currency,
        "customer_id": p.customer_id,
        "status": p.status.value,
        "capture_method": p.capture_method,
        "amount_capturable": p.amount_capturable,
        "amount_received": p.amount_received,
        "amount_refunded": p.amount_refunded,
        "amount_allocated": p.amount_allocated,
        "fee": p.fee,
        "card_brand": m.brand,
        "card_last4": m.last4,
        "card_exp_month": m.exp_month,
        "card_exp_year": m.exp_year,
        "card_fingerprint": m.fingerprint,
        "scenario": m.scenario,
        "decline_code": p.decline_code,
        "failure_message": p.failure_message,
        "description": p.description,
        "disputed": p.disputed,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
        "authorization_expires_at": p.authorization_expires_at,
        "canceled_at": p.canceled_at,
        "cancellation_reason": p.cancellation_reason,
    }


def _payment(r: Row[Any]) -> Payment:
    method = PaymentMethod(
        r.card_brand, r.card_last4, r.card_exp_month, r.card_exp_year, r.card_fingerprint, r.scenario
    )
    return Payment(
        r.id,
        int(r.amount),
        r.currency,
        r.customer_id,
        PaymentStatus(r.status),
        r.capture_method,
        int(r.amount_capturable),
        int(r.amount_received),
        int(r.amount_refunded),
        int(r.amount_allocated),
        int(r.fee),
        method,
        r.decline_code,
        r.failure_message,
        r.description,
        bool(r.disputed),
        r.created_at,
        r.updated_at,
        r.authorization_expires_at,
        r.canceled_at,
        r.cancellation_reason,
    )


def _refund(r: Row[Any]) -> Refund:
    return Refund(**{**r._mapping, "status": RefundStatus(r.status)})


def _filtered(where: PaymentFilter) -> list[ColumnElement[bool]]:
    p = payments.c
    found = []
    if where.status is not None:
        found.append(p.status == where.status)
    if where.customer_id is not None:
        found.append(p.customer_id == where.customer_id)
    if where.created_from is not None:
        found.append(p.created_at >= where.created_from)
    if where.created_to is not None:
        found.append(p.created_at < where.created_to)
    return found
