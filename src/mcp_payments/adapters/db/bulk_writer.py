"""Bulk writing of a generated history (services/demo/): COPY on PostgreSQL, multi-row INSERTs on SQLite.

It writes rows the services would have written one call at a time, inside the one transaction its caller
holds: a failed run leaves nothing. Cached balances and the audit chain's head move once, at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, exists, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db import rollups
from mcp_payments.adapters.db.tables import (
    accounts,
    audit_head,
    audit_log,
    customers,
    entries,
    invoice_lines,
    invoices,
    journal_transactions,
    payment_attempts,
    payment_events,
    payments,
    plans,
    refunds,
    subscriptions,
)
from mcp_payments.domain.ledger import AccountType

# In the order their foreign keys need.
ORDER: tuple[Table, ...] = (
    accounts,
    customers,
    plans,
    subscriptions,
    payments,
    refunds,
    payment_attempts,
    payment_events,
    journal_transactions,
    entries,
    invoices,
    invoice_lines,
    audit_log,
)
_AUTO_ID = {entries.name, payment_attempts.name, payment_events.name, invoice_lines.name}
# What changes in a row written earlier in the run (a payment refunded weeks later, a refund that failed).
_MUTABLE = {
    payments.name: (
        "status",
        "amount_received",
        "amount_refunded",
        "fee",
        "decline_code",
        "failure_message",
        "disputed",
        "updated_at",
        "canceled_at",
        "cancellation_reason",
    ),
    refunds.name: ("status", "failure_reason", "updated_at"),
}
_TABLES = {t.name: t for t in (*ORDER, payments, refunds)}


class BulkWriter:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"

    async def holds_data(self) -> list[str]:
        """The tables that already hold customers, money or subscriptions (an empty list: a fresh database)."""
        held = []
        for table in (customers, payments, journal_transactions, subscriptions, plans):
            if (await self.conn.execute(select(exists().select_from(table)))).scalar():
                held.append(table.name)
        wallets = select(exists().where(accounts.c.type == AccountType.WALLET.value))
        if (await self.conn.execute(wallets)).scalar():
            held.append("accounts (wallets)")
        return held

    async def lock_head(self) -> tuple[int, str]:
        """The audit chain's head, held until the run commits (SQLite: the run holds the write lock)."""
        query = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
        row = (await self.conn.execute(query.with_for_update() if self.pg else query)).one()
        return int(row[0]), str(row[1])

    async def ensure_accounts(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """System accounts as ensure_system_account makes them: created when missing, else left as they are."""
        upsert = pg_insert if self.pg else sqlite_insert
        for row in rows:
            await self.conn.execute(upsert(accounts).values(dict(row)).on_conflict_do_nothing())

    async def write(
        self, rows: Mapping[str, Sequence[Mapping[str, Any]]], updates: Mapping[str, Mapping[str, Mapping[str, Any]]]
    ) -> None:
        """Insert one batch of rows, then rewrite the rows of earlier batches that changed since."""
        for table in ORDER:
            if batch := rows.get(table.name):
                await self._insert(table, batch)
        for name, changed in updates.items():
            if changed:
                table = _TABLES[name]
                columns = _MUTABLE[name]
                statement = (
                    update(table)
                    .where(table.c.id == bindparam("b_id"))
                    .values({c: bindparam(f"b_{c}") for c in columns})
                )
                params = [{"b_id": r["id"], **{f"b_{c}": r[c] for c in columns}} for r in changed.values()]
                await self.conn.execute(statement, params)

    async def _insert(self, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        # The columns the history gives; a column it does not know (added since) takes its default, NULL.
        given = rows[0].keys()
        columns = [c.name for c in table.columns if c.name in given and not (c.name == "id" and table.name in _AUTO_ID)]
        if self.pg:
            raw = await self.conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            records = [tuple(r[c] for c in columns) for r in rows]
            await driver.copy_records_to_table(table.name, records=records, columns=columns)
        else:
            await self.conn.execute(insert(table), [{c: r[c] for c in columns} for r in rows])

    async def finish(self, posted: Mapping[str, int], head: tuple[int, str]) -> None:
        """Move the cached balances by what the history posted, the chain's head to its last record, and the
        analytics deltas into the rollups."""
        statement = (
            update(accounts)
            .where(accounts.c.id == bindparam("b_id"))
            .values(posted=accounts.c.posted + bindparam("b_delta"))
        )
        deltas = [{"b_id": account_id, "b_delta": delta} for account_id, delta in sorted(posted.items()) if delta]
        if deltas:
            await self.conn.execute(statement, deltas)
        await self.conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=head[0], hash=head[1]))
        # The triggers appended the history's analytics deltas as it was written: fold them into the rollups now.
        await rollups.compact(self.conn)
