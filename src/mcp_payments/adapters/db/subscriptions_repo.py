"""Plans, subscriptions, invoices and their lines; the claims of the renewal and expiry jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.jobs_repo import claimable, claiming
from mcp_payments.adapters.db.plain_rows import insert_rows, update_row
from mcp_payments.adapters.db.tables import invoice_lines, invoices, pending_invoice_lines, plans, subscriptions
from mcp_payments.domain.cards import PaymentMethod
from mcp_payments.domain.subscriptions import (
    BILLED,
    Interval,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PauseCollection,
    Plan,
    Subscription,
    SubscriptionStatus,
)
from mcp_payments.services.ports import Claim
from mcp_payments.services.subscriptions.ports import SubscriptionFilter

_PENDING = (
    "SELECT kind, description, amount, period_start, period_end FROM pending_invoice_lines "
    "WHERE subscription_id = {} ORDER BY id"
)
_PENDING_PG, _PENDING_SQLITE = _PENDING.format("$1"), _PENDING.format("?")


class SqlSubscriptions:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.driver = driver
        self.pg = driver.dialect == "postgresql"

    async def add_plan(self, p: Plan) -> None:
        values = {
            "id": p.id,
            "name": p.name,
            "amount": p.amount,
            "currency": p.currency,
            "interval": p.interval.value,
            "interval_count": p.interval_count,
            "trial_days": p.trial_days,
            "used": p.used,
            "created_at": p.created_at,
        }
        await self.conn.execute(insert(plans).values(values))

    async def get_plan(self, plan_id: str, *, lock: bool = False) -> Plan | None:
        query = select(plans).where(plans.c.id == plan_id)
        if lock and self.pg:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        return _plan(row) if row else None

    async def mark_plan_used(self, plan_id: str) -> None:
        await self.conn.execute(update(plans).where(plans.c.id == plan_id, ~plans.c.used).values(used=True))

    async def plans(self, after: str | None, limit: int) -> list[Plan]:
        query = select(plans).order_by(plans.c.id).limit(limit)
        if after is not None:
            query = query.where(plans.c.id > after)
        return [_plan(r) for r in await self.conn.execute(query)]

    async def add(self, s: Subscription) -> None:
        await self.conn.execute(insert(subscriptions).values(_subscription_row(s)))

    async def get(self, subscription_id: str, *, lock: bool = False) -> Subscription | None:
        query = select(subscriptions).where(subscriptions.c.id == subscription_id)
        if lock and self.pg:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        return _subscription(row) if row else None

    # A renewal's statements (the subscription, its invoice and lines, the pending lines) are plain SQL: a month of
    # renewals makes them once per subscription (plain_rows.py).
    async def update(self, s: Subscription) -> None:
        await update_row(self.driver, subscriptions, _subscription_row(s))

    async def search(self, where: SubscriptionFilter, after: str | None, limit: int) -> list[Subscription]:
        query = select(subscriptions).order_by(subscriptions.c.id).limit(limit)
        if where.customer_id is not None:
            query = query.where(subscriptions.c.customer_id == where.customer_id)
        if where.status is not None:
            query = query.where(subscriptions.c.status == where.status.value)
        if after is not None:
            query = query.where(subscriptions.c.id > after)
        return [_subscription(r) for r in await self.conn.execute(query)]

    async def add_invoice(self, i: Invoice) -> None:
        await insert_rows(self.driver, invoices, [{**_invoice_row(i), "total": i.total}])
        await insert_rows(
            self.driver,
            invoice_lines,
            [
                {
                    "invoice_id": i.id,
                    "kind": line.kind,
                    "description": line.description,
                    "amount": line.amount,
                    "period_start": line.period_start,
                    "period_end": line.period_end,
                }
                for line in i.lines
            ],
        )

    async def get_invoice(self, invoice_id: str, *, lock: bool = False) -> Invoice | None:
        query = select(invoices).where(invoices.c.id == invoice_id)
        if lock and self.pg:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        return (await self._with_lines([row]))[0] if row else None

    async def update_invoice(self, i: Invoice) -> None:
        values = {
            "status": i.status.value,
            "attempts": i.attempts,
            "payment_id": i.payment_id,
            "last_decline_code": i.last_decline_code,
            "updated_at": i.updated_at,
            "next_attempt_at": i.next_attempt_at,
        }
        await update_row(self.driver, invoices, {**values, "id": i.id})

    async def invoices(
        self, subscription_id: str | None, customer_id: str | None, before: str | None, limit: int
    ) -> list[Invoice]:
        query = select(invoices).order_by(invoices.c.id.desc()).limit(limit)
        if subscription_id is not None:
            query = query.where(invoices.c.subscription_id == subscription_id)
        if customer_id is not None:
            query = query.where(invoices.c.customer_id == customer_id)
        if before is not None:
            query = query.where(invoices.c.id < before)
        return await self._with_lines(list(await self.conn.execute(query)))

    async def claim_renewals(self, claim: Claim) -> list[Subscription]:
        query = select(subscriptions).where(*_renewing(claim)).order_by(subscriptions.c.current_period_end)
        return [_subscription(r) for r in await self.conn.execute(claiming(query, claim, self.pg))]

    async def oldest_renewal(self, claim: Claim) -> datetime | None:
        oldest = select(func.min(subscriptions.c.current_period_end)).where(*_renewing(claim))
        found: datetime | None = (await self.conn.execute(oldest)).scalar_one()
        return found

    async def claim_retries(self, claim: Claim) -> list[Subscription]:
        query = select(subscriptions).where(*_retrying(claim)).order_by(subscriptions.c.id)
        return [_subscription(r) for r in await self.conn.execute(claiming(query, claim, self.pg))]

    async def oldest_retry(self, claim: Claim) -> datetime | None:
        oldest = select(func.min(invoices.c.next_attempt_at)).where(
            invoices.c.status == InvoiceStatus.OPEN.value,
            invoices.c.next_attempt_at <= claim.now,
            invoices.c.subscription_id.in_(select(subscriptions.c.id).where(*_retrying(claim))),
        )
        found: datetime | None = (await self.conn.execute(oldest)).scalar_one()
        return found

    async def due_invoices(self, subscription_id: str, now: datetime) -> list[Invoice]:
        query = (
            select(invoices)
            .where(
                invoices.c.subscription_id == subscription_id,
                invoices.c.status == InvoiceStatus.OPEN.value,
                invoices.c.next_attempt_at <= now,
            )
            .order_by(invoices.c.period_index)
        )
        if self.pg:
            query = query.with_for_update()
        return await self._with_lines(list(await self.conn.execute(query)))

    async def claim_incomplete(self, claim: Claim, created_before: datetime) -> list[Subscription]:
        query = select(subscriptions).where(*_incomplete(claim, created_before)).order_by(subscriptions.c.created_at)
        return [_subscription(r) for r in await self.conn.execute(claiming(query, claim, self.pg))]

    async def oldest_incomplete(self, claim: Claim, created_before: datetime) -> datetime | None:
        oldest = select(func.min(subscriptions.c.created_at)).where(*_incomplete(claim, created_before))
        found: datetime | None = (await self.conn.execute(oldest)).scalar_one()
        return found

    async def pending_lines(self, subscription_id: str) -> list[InvoiceLine]:
        rows = await self.driver.fetch(_PENDING_PG if self.pg else _PENDING_SQLITE, subscription_id)
        at = self.driver.time_value
        return [InvoiceLine(kind, text, int(amount), at(start), at(end)) for kind, text, amount, start, end in rows]

    async def add_pending_lines(self, subscription_id: str, lines: tuple[InvoiceLine, ...]) -> None:
        if lines:
            await self.conn.execute(
                insert(pending_invoice_lines),
                [
                    {
                        "subscription_id": subscription_id,
                        "kind": line.kind,
                        "description": line.description,
                        "amount": line.amount,
                        "period_start": line.period_start,
                        "period_end": line.period_end,
                    }
                    for line in lines
                ],
            )

    async def replace_pending_lines(self, subscription_id: str, lines: tuple[InvoiceLine, ...]) -> None:
        where = pending_invoice_lines.c.subscription_id == subscription_id
        await self.conn.execute(delete(pending_invoice_lines).where(where))
        await self.add_pending_lines(subscription_id, lines)

    async def lowest_invoice_index(self, subscription_id: str) -> int | None:
        lowest = select(func.min(invoices.c.period_index)).where(invoices.c.subscription_id == subscription_id)
        found: int | None = (await self.conn.execute(lowest)).scalar_one()
        return found

    async def claim_resumes(self, claim: Claim) -> list[Subscription]:
        query = select(subscriptions).where(*_resuming(claim)).order_by(subscriptions.c.resumes_at)
        return [_subscription(r) for r in await self.conn.execute(claiming(query, claim, self.pg))]

    async def oldest_resume(self, claim: Claim) -> datetime | None:
        oldest = select(func.min(subscriptions.c.resumes_at)).where(*_resuming(claim))
        found: datetime | None = (await self.conn.execute(oldest)).scalar_one()
        return found

    async def _with_lines(self, rows: list[Row[Any]]) -> list[Invoice]:
        if not rows:
            return []
        query = select(invoice_lines).where(invoice_lines.c.invoice_id.in_([r.id for r in rows]))
        lines: dict[str, list[InvoiceLine]] = {r.id: [] for r in rows}
        for line in await self.conn.execute(query.order_by(invoice_lines.c.id)):
            lines[line.invoice_id].append(
                InvoiceLine(line.kind, line.description, int(line.amount), line.period_start, line.period_end)
            )
        return [_invoice(r, tuple(lines[r.id])) for r in rows]


def _renewing(claim: Claim) -> list[ColumnElement[bool]]:
    return [
        subscriptions.c.status.in_(sorted(s.value for s in BILLED)),
        subscriptions.c.current_period_end <= claim.now,
        claimable(claim, subscriptions.c.id),
    ]


def _resuming(claim: Claim) -> list[ColumnElement[bool]]:
    return [
        subscriptions.c.status == SubscriptionStatus.PAUSED.value,
        subscriptions.c.resumes_at <= claim.now,
        claimable(claim, subscriptions.c.id),
    ]


def _retrying(claim: Claim) -> list[ColumnElement[bool]]:
    """past_due subscriptions with an open invoice whose next try is due."""
    due = exists().where(
        invoices.c.subscription_id == subscriptions.c.id,
        invoices.c.status == InvoiceStatus.OPEN.value,
        invoices.c.next_attempt_at <= claim.now,
    )
    return [subscriptions.c.status == SubscriptionStatus.PAST_DUE.value, due, claimable(claim, subscriptions.c.id)]


def _incomplete(claim: Claim, created_before: datetime) -> list[ColumnElement[bool]]:
    return [
        subscriptions.c.status == SubscriptionStatus.INCOMPLETE.value,
        subscriptions.c.created_at <= created_before,
        claimable(claim, subscriptions.c.id),
    ]


def _plan(r: Row[Any]) -> Plan:
    return Plan(
        r.id,
        r.name,
        int(r.amount),
        r.currency,
        Interval(r.interval),
        r.interval_count,
        r.trial_days,
        r.created_at,
        bool(r.used),
    )


def _subscription_row(s: Subscription) -> dict[str, Any]:
    m = s.method
    return {
        "id": s.id,
        "customer_id": s.customer_id,
        "plan_id": s.plan_id,
        "status": s.status.value,
        "anchor": s.anchor,
        "period_index": s.period_index,
        "current_period_start": s.current_period_start,
        "current_period_end": s.current_period_end,
        "trial_end": s.trial_end,
        "card_brand": m.brand,
        "card_last4": m.last4,
        "card_exp_month": m.exp_month,
        "card_exp_year": m.exp_year,
        "card_fingerprint": m.fingerprint,
        "scenario": m.scenario,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "canceled_at": s.canceled_at,
        "cancel_at_period_end": s.cancel_at_period_end,
        "pause_collection": None if s.pause_collection is None else s.pause_collection.value,
        "resumes_at": s.resumes_at,
    }


def _subscription(r: Row[Any]) -> Subscription:
    method = PaymentMethod(
        r.card_brand, r.card_last4, r.card_exp_month, r.card_exp_year, r.card_fingerprint, r.scenario
    )
    return Subscription(
        r.id,
        r.customer_id,
        r.plan_id,
        SubscriptionStatus(r.status),
        r.anchor,
        r.period_index,
        r.current_period_start,
        r.current_period_end,
        r.trial_end,
        method,
        r.created_at,
        r.updated_at,
        r.canceled_at,
        bool(r.cancel_at_period_end),
        None if r.pause_collection is None else PauseCollection(r.pause_collection),
        r.resumes_at,
    )


def _invoice_row(i: Invoice) -> dict[str, Any]:
    return {
        "id": i.id,
        "subscription_id": i.subscription_id,
        "customer_id": i.customer_id,
        "period_index": i.period_index,
        "period_start": i.period_start,
        "period_end": i.period_end,
        "currency": i.currency,
        "status": i.status.value,
        "attempts": i.attempts,
        "payment_id": i.payment_id,
        "last_decline_code": i.last_decline_code,
        "created_at": i.created_at,
        "updated_at": i.updated_at,
        "next_attempt_at": i.next_attempt_at,
    }


def _invoice(r: Row[Any], lines: tuple[InvoiceLine, ...]) -> Invoice:
    return Invoice(
        r.id,
        r.subscription_id,
        r.customer_id,
        r.period_index,
        r.period_start,
        r.period_end,
        r.currency,
        lines,
        InvoiceStatus(r.status),
        r.attempts,
        r.payment_id,
        r.last_decline_code,
        r.created_at,
        r.updated_at,
        r.next_attempt_at,
    )
