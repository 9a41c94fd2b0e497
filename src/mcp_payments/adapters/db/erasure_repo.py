"""Erasure and retention in SQL: where personal data can be, and how it is rewritten or removed.

MENTIONS lists every free-text or JSON column that may repeat a customer's personal data; IMPERSONAL names the
tables whose text is ids, codes, hashes, amounts or public data. Every table of the schema is in one or the
other (or is `customers` or `screenings`, handled on their own): tests/compliance/test_erasure.py fails on a new
table until it is classified here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, Table, cast, delete, exists, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.adapters.db.jobs_repo import claimable, claiming
from mcp_payments.adapters.db.tables import (
    accounts,
    approvals,
    compliance_flags,
    customers,
    holds,
    idempotency_keys,
    invoice_lines,
    invoices,
    job_failures,
    job_runs,
    journal_transactions,
    mandates,
    monitoring_marks,
    payment_events,
    payments,
    pending_invoice_lines,
    provider_events,
    provider_outbox,
    refunds,
    risk_assessments,
    screenings,
    spend_records,
    subscriptions,
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
)
from mcp_payments.domain.erasure import MIN_TERM, REDACTED, Personal, rewrite_document
from mcp_payments.domain.webhooks import DeliveryStatus
from mcp_payments.services.erasure_ports import CustomerData, Kept
from mcp_payments.services.ports import Claim

MENTIONS: tuple[tuple[Table, tuple[str, ...]], ...] = (
    (accounts, ("name",)),  # a wallet's name
    (journal_transactions, ("memo",)),  # the one column of the journal an erasure may rewrite (migration 0019)
    (holds, ("memo",)),
    (idempotency_keys, ("arguments", "response")),  # what a retry is answered: create_customer's answer names them
    (payments, ("description", "failure_message", "cancellation_reason")),
    (refunds, ("reason", "failure_reason")),
    (payment_events, ("data",)),  # append-only but for this column (migration 0019)
    (provider_events, ("payload",)),
    (provider_outbox, ("body",)),
    (approvals, ("arguments", "reason", "result")),  # a held call's arguments and its answer
    (mandates, ("description",)),
    (invoice_lines, ("description",)),
    (pending_invoice_lines, ("description",)),
    (webhook_events, ("body",)),
    (webhook_endpoints, ("description",)),
    (job_failures, ("last_error",)),
    (job_runs, ("last_error",)),
    (monitoring_marks, ("detail",)),
    (compliance_flags, ("summary", "details", "note")),  # ids by design, but a resolver's note is free text
)
IMPERSONAL = frozenset(
    {
        "entries",
        "fx_conversions",
        "audit_log",  # ids and keyed hashes only (services/calls.py): the test scans it too
        "audit_head",
        "payment_attempts",
        "api_keys",  # the operators' own key names
        "plans",
        "subscriptions",
        "invoices",
        "spending_policies",
        "spend_records",
        "spend_locks",
        "sandbox_clock",
        "tool_call_stats",
        "sanctions_lists",
        "sanctions_entries",  # the published list, not our customers
        "webhook_deliveries",
        "known_payees",  # a keyed hash of the payee's name, never the name
        # Fraud scores: ids, a keyed card fingerprint, last 4 digits, amounts and generated reasons; the one reason
        # that repeats the customer's country is rewritten with it (SqlErasure._forget_country).
        "risk_assessments",
        # Analytics rollups: sums per time bucket, currency, card brand and decline code; no ids at all.
        "analytics_revenue_deltas",
        "analytics_revenue_rollups",
        "analytics_attempt_deltas",
        "analytics_attempt_rollups",
        # Customer rollups: a customer's id (kept by an erasure, as in payments), months, currencies, counts, sums.
        "analytics_customer_deltas",
        "analytics_customer_rollups",
        "analytics_customer_firsts",
        "analytics_customer_months",
        "analytics_customer_totals",
        "analytics_currency_months",
        "analytics_customer_month_groups",
    }
)
SPECIAL = frozenset({"customers", "screenings"})


def _contains(column: ColumnElement[Any], forms: Sequence[str]) -> ColumnElement[bool]:
    def like(form: str) -> ColumnElement[bool]:
        escaped = form.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return func.lower(column).like(f"%{escaped}%", escape="\\")

    return or_(*(like(f) for f in forms)) if forms else false()


class SqlErasure:
    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self.conn = conn
        self.pg = driver.dialect == "postgresql"

    async def customer(self, customer_id: str, *, lock: bool = False) -> CustomerData | None:
        c = customers.c
        query = select(c.id, c.name, c.email, c.description, c.erased_at).where(c.id == customer_id)
        if lock and self.pg:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        if row is None:
            return None
        return CustomerData(row.id, Personal(row.name, row.email, row.description), row.erased_at)

    async def erase_customer(self, customer_id: str, pseudonym: str, now: datetime) -> dict[str, int]:
        country = (
            await self.conn.execute(select(customers.c.country).where(customers.c.id == customer_id))
        ).scalar_one_or_none()
        await self.conn.execute(
            update(customers)
            .where(customers.c.id == customer_id)
            .values(
                name=pseudonym,
                name_normalized=pseudonym.lower(),
                email=None,
                email_normalized=None,
                description=None,
                country=None,
                erased_at=now,
            )
        )
        if country is None:
            return {}
        # Where the country is repeated: a two-letter code cannot be searched for as text, so by the customer's id.
        # A stored create_customer answer names the customer too: rewrite_mentions counted that row already.
        await self._answers_without_country(customer_id)
        scores = await self._scores_without_country(customer_id)
        return {"risk_assessments.reasons": scores} if scores else {}

    async def _scores_without_country(self, customer_id: str) -> int:
        """Its fraud scores' country reason ("card issued in US, customer in GB") no longer names its country."""
        r = risk_assessments.c
        scored = select(r.id, r.reasons).where(r.customer_id == customer_id, _contains(r.reasons, ['"country"']))
        done = 0
        for score in (await self.conn.execute(scored)).all():
            reasons = json.loads(score.reasons)
            for reason in reasons:
                if reason.get("rule") == "country":
                    reason["text"] = "card issued outside the customer's country (erased)"
            await self.conn.execute(update(risk_assessments).where(r.id == score.id).values(reasons=_json(reasons)))
            done += 1
        return done

    async def _answers_without_country(self, customer_id: str) -> None:
        """create_customer's stored arguments and answer (what a retry of its key replays) lose the country."""
        k = idempotency_keys.c
        stored = select(k.principal, k.key, k.arguments, k.response).where(
            k.tool == "create_customer", _contains(k.response, [customer_id.lower()])
        )
        for answer in (await self.conn.execute(stored)).all():
            arguments, response = json.loads(answer.arguments), json.loads(answer.response)
            customer = response.get("customer")
            if not isinstance(customer, dict) or customer.get("id") != customer_id:
                continue
            arguments.pop("country", None)
            customer["country"] = None
            await self.conn.execute(
                update(idempotency_keys)
                .where(k.principal == answer.principal, k.key == answer.key)
                .values(arguments=_json(arguments), response=_json(response))
            )

    async def rewrite_mentions(self, personal: Personal, pseudonym: str) -> dict[str, int]:
        terms, forms = personal.terms(), personal.search_forms()
        counts: dict[str, int] = {}
        for table, names in MENTIONS:
            for name in names:
                if done := await self._rewrite(table, name, terms, forms, pseudonym):
                    counts[f"{table.name}.{name}"] = done
        if done := await self._screenings(personal.name, pseudonym):
            counts["screenings.party_name"] = done
        return counts

    async def _rewrite(
        self, table: Table, name: str, terms: tuple[str, ...], forms: tuple[str, ...], pseudonym: str
    ) -> int:
        column = table.c[name]
        keys = list(table.primary_key.columns)
        found = (await self.conn.execute(select(*keys, column).where(_contains(column, forms)))).all()
        done = 0
        for row in found:
            before: str = row[-1]
            after = rewrite_document(before, terms, pseudonym)
            if after != before:
                where = [key == row[i] for i, key in enumerate(keys)]
                await self.conn.execute(update(table).where(*where).values({name: after}))
                done += 1
        return done

    async def _screenings(self, name: str | None, pseudonym: str) -> int:
        """Screenings of the customer's name (at create_customer, or of a payee by that name): the name and date
        of birth go, the decision stays. A namesake's screening is erased too: it cannot be told apart."""
        if not name or not name.strip():
            return 0
        s = screenings.c
        term = name.strip().lower()
        match = _contains(s.party_name, [term]) if len(term) >= MIN_TERM else func.lower(s.party_name) == term
        result = await self.conn.execute(update(screenings).where(match).values(party_name=pseudonym, party_born=None))
        return int(result.rowcount)

    async def kept(self, customer_id: str) -> Kept:
        theirs = select(payments.c.id).where(payments.c.customer_id == customer_id).scalar_subquery()

        async def count(table: Table, *where: ColumnElement[bool]) -> int:
            return int((await self.conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())

        return Kept(
            payments=await count(payments, payments.c.customer_id == customer_id),
            refunds=await count(refunds, refunds.c.payment_id.in_(theirs)),
            subscriptions=await count(subscriptions, subscriptions.c.customer_id == customer_id),
            invoices=await count(invoices, invoices.c.customer_id == customer_id),
            journal_transactions=await count(journal_transactions, journal_transactions.c.reference.in_(theirs)),
        )

    async def claim_old_screenings(self, claim: Claim, before: datetime) -> list[str]:
        s = screenings.c
        query = select(s.id).where(*_old_screenings(before), claimable(claim, s.id)).order_by(s.screened_at, s.id)
        return list((await self.conn.execute(claiming(query, claim, self.pg))).scalars())

    async def redact_screening(self, screening_id: str) -> None:
        await self.conn.execute(
            update(screenings).where(screenings.c.id == screening_id).values(party_name=REDACTED, party_born=None)
        )

    async def claim_old_spend_records(self, claim: Claim, before: datetime) -> list[int]:
        r = spend_records.c
        query = select(r.id).where(r.at < before, claimable(claim, cast(r.id, String))).order_by(r.at, r.id)
        return [int(i) for i in (await self.conn.execute(claiming(query, claim, self.pg))).scalars()]

    async def delete_spend_record(self, record_id: int) -> None:
        await self.conn.execute(delete(spend_records).where(spend_records.c.id == record_id))

    async def claim_old_deliveries(self, claim: Claim, before: datetime) -> list[str]:
        d = webhook_deliveries.c
        query = select(d.id).where(*_old_deliveries(before), claimable(claim, d.id)).order_by(d.updated_at, d.id)
        return list((await self.conn.execute(claiming(query, claim, self.pg))).scalars())

    async def delete_delivery(self, delivery_id: str) -> None:
        d = webhook_deliveries.c
        event_id = (await self.conn.execute(select(d.event_id).where(d.id == delivery_id))).scalar_one_or_none()
        if event_id is None:
            return
        await self.conn.execute(delete(webhook_deliveries).where(d.id == delivery_id))
        others = exists().where(d.event_id == event_id)
        await self.conn.execute(delete(webhook_events).where(webhook_events.c.id == event_id, ~others))

    async def oldest(self, what: str, before: datetime) -> datetime | None:
        match what:
            case "screenings":
                query = select(func.min(screenings.c.screened_at)).where(*_old_screenings(before))
            case "spend_records":
                query = select(func.min(spend_records.c.at)).where(spend_records.c.at < before)
            case "deliveries":
                query = select(func.min(webhook_deliveries.c.updated_at)).where(*_old_deliveries(before))
            case _:
                raise ValueError(f"no retention for {what}")
        oldest: datetime | None = (await self.conn.execute(query)).scalar_one()
        return oldest


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)  # as rewrite_document writes it


def _old_screenings(before: datetime) -> tuple[ColumnElement[bool], ...]:
    return screenings.c.screened_at < before, screenings.c.party_name != REDACTED


def _old_deliveries(before: datetime) -> tuple[ColumnElement[bool], ...]:
    d = webhook_deliveries.c
    return d.status == DeliveryStatus.DELIVERED.value, d.updated_at < before
