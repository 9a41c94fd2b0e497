"""Ledger repository: accounts, the journal and holds.

Ledger SQL lives here, and in PostgreSQL's post_journal() (migration 0003).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from mcp_payments.adapters.db import fx_records
from mcp_payments.adapters.db.driver import Driver, marks
from mcp_payments.adapters.db.errors import translate
from mcp_payments.adapters.db.jobs_repo import claimable, claiming
from mcp_payments.adapters.db.rows import row_of
from mcp_payments.adapters.db.tables import accounts, entries, holds, journal_transactions
from mcp_payments.domain import fx, ledger
from mcp_payments.domain.errors import DataError, DomainError
from mcp_payments.domain.ledger import Account, AccountType, Entry, Hold, HoldStatus, JournalTransaction
from mcp_payments.domain.money import LEDGER_LIMIT, MAX_BALANCE
from mcp_payments.services.ports import AccountFindings, Claim, LedgerTotals, PostResult, StatementLine

_COLUMNS = "id, type, currency, allow_overdraft, posted, pending, name, created_at"

# PostgreSQL posts a journal transaction in one round trip: post_journal() (migration 0003) moves
# each account with one conditional UPDATE, in id order, and inserts the journal rows only when
# every account moved; a refusal undoes itself. It returns the accounts as they were before the
# posting, with `applied` in the last column.
# Parameters: $1 account ids (sorted), $2 net change and $3 currency per account; $4 transaction id,
# $5 kind, $6 memo, $7 created_at, $8 reference; $9 account, $10 amount and $11 currency per entry.
PG_POST = (
    "SELECT * FROM post_journal($1::text[], $2::bigint[], $3::text[], $4::text, $5::text, $6::text, "
    "$7::timestamptz, $8::text, $9::text[], $10::bigint[], $11::text[])"
)
PG_ACCOUNT = f"SELECT {_COLUMNS} FROM accounts WHERE id = $1"
_PG_LOCK = f"SELECT {_COLUMNS} FROM accounts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE"

# SQLite: BEGIN IMMEDIATE already holds the database's one write lock, so the posting reads, checks
# in Python and writes, in plain statements.
SQLITE_ACCOUNT = f"SELECT {_COLUMNS} FROM accounts WHERE id = ?"
_SQLITE_LOCK = f"SELECT {_COLUMNS} FROM accounts WHERE id IN ({{}}) ORDER BY id"
_SQLITE_ADD_TRANSACTION = (
    f"INSERT INTO journal_transactions (id, kind, memo, created_at, reference) VALUES ({marks(False, 5)})"
)
_SQLITE_ADD_ENTRY = "INSERT INTO entries (transaction_id, account_id, amount, currency) VALUES (?, ?, ?, ?)"
_SQLITE_MOVE_POSTED = "UPDATE accounts SET posted = posted + ? WHERE id = ?"
# SQLite stores whatever it is given (a float, a text) in a column of any type: the integrity check asks for
# money values that are not integers (PostgreSQL's bigint columns hold nothing else).
_SQLITE_NOT_INTEGERS = """
SELECT 'account', id FROM accounts WHERE typeof(posted) != 'integer' OR typeof(pending) != 'integer'
UNION ALL SELECT 'entry', CAST(id AS TEXT) FROM entries WHERE typeof(amount) != 'integer'
UNION ALL SELECT 'hold', id FROM holds WHERE typeof(amount) != 'integer' OR typeof(captured_amount) != 'integer'
LIMIT 100
"""

# check_ledger_integrity's account checks (domain.ledger.integrity_problems) as one aggregation: each account
# against the sum of its entries and of its active holds, its overdraft and its limits. Only the accounts with a
# problem come back (the first `limit` by id), each with both sums, and with the number of problems they have in
# all (n: every row carries it). The conditions are integrity_problems' own, so that the count is exact.
_ACCOUNT_PROBLEMS = f"""
    (CASE WHEN a.posted <> coalesce(es.total, 0) THEN 1 ELSE 0 END)
    + (CASE WHEN a.pending <> coalesce(hs.total, 0) THEN 1 ELSE 0 END)
    + (CASE WHEN NOT a.allow_overdraft AND a.posted < a.pending THEN 1 ELSE 0 END)
    + (CASE WHEN a.posted > {LEDGER_LIMIT} OR a.posted < -{LEDGER_LIMIT}
        OR (NOT a.allow_overdraft AND a.posted > {MAX_BALANCE}) THEN 1 ELSE 0 END)
"""
_ACCOUNT_FINDINGS = f"""
SELECT * FROM (
    SELECT {", ".join("a." + c for c in _COLUMNS.split(", "))}, coalesce(es.total, 0), coalesce(hs.total, 0),
        sum({_ACCOUNT_PROBLEMS}) OVER () AS n
    FROM accounts a
    LEFT JOIN (SELECT account_id, sum(amount) AS total FROM entries GROUP BY account_id) es ON es.account_id = a.id
    LEFT JOIN (
        SELECT account_id, sum(amount) AS total FROM holds
        WHERE status = '{HoldStatus.ACTIVE.value}' GROUP BY account_id
    ) hs ON hs.account_id = a.id
    WHERE {_ACCOUNT_PROBLEMS} > 0
) found
ORDER BY id LIMIT {{}}
"""
_PG_ACCOUNT_FINDINGS, _SQLITE_ACCOUNT_FINDINGS = _ACCOUNT_FINDINGS.format("$1"), _ACCOUNT_FINDINGS.format("?")


class SqlLedger:
    def __init__(self, conn: AsyncConnection, driver: Driver, known_system_accounts: set[str] | None = None) -> None:
        self.conn = conn
        self.driver = driver
        self.pg = driver.dialect == "postgresql"
        self.known_system_accounts = known_system_accounts if known_system_accounts is not None else set()
        self.created_system_accounts: list[str] = []
        self.posted: list[JournalTransaction] = []  # what this unit of work posted: its audit record binds them

    async def add_account(self, account: Account) -> None:
        await self.conn.execute(insert(accounts).values(row_of(account)))

    async def ensure_system_account(self, type: AccountType, currency: str, now: datetime) -> str:
        account_id = ledger.system_account_id(type, currency)
        if account_id in self.known_system_accounts:
            return account_id
        self.created_system_accounts.append(account_id)
        row = row_of(Account(account_id, type, currency, True, 0, 0, f"{type.value} {currency}", now))
        upsert = pg_insert if self.pg else sqlite_insert
        await self.conn.execute(upsert(accounts).values(row).on_conflict_do_nothing())
        return account_id

    async def get_account(self, account_id: str) -> Account | None:
        rows = await self.driver.fetch(PG_ACCOUNT if self.pg else SQLITE_ACCOUNT, account_id)
        return self._account(rows[0]) if rows else None

    async def lock_accounts(self, ids: Sequence[str]) -> dict[str, Account]:
        # Fixed order (by id) so that two callers locking the same pair never deadlock.
        wanted = sorted(set(ids))
        if self.pg:
            rows = await self.driver.fetch(_PG_LOCK, wanted)
        else:
            rows = await self.driver.fetch(_SQLITE_LOCK.format(", ".join("?" * len(wanted))), *wanted)
        return {row[0]: self._account(row) for row in rows}

    async def list_accounts(self, type: AccountType, after: str | None, limit: int) -> list[Account]:
        args: tuple[Any, ...] = (type.value, limit) if after is None else (type.value, after, limit)
        m = marks(self.pg, len(args)).split(", ")  # in the order they appear in the text (sqlite3's ? are positional)
        where = f"type = {m[0]}" if after is None else f"type = {m[0]} AND id > {m[1]}"
        sql = f"SELECT {_COLUMNS} FROM accounts WHERE {where} ORDER BY id LIMIT {m[-1]}"
        return [self._account(row) for row in await self.driver.fetch(sql, *args)]

    async def post(self, txn: JournalTransaction) -> PostResult:
        if self.pg:
            result = await self._post_pg(txn)
        else:
            result = await self._post_sqlite(txn)
        if result.applied:
            self.posted.append(txn)
        return result

    async def _post_sqlite(self, txn: JournalTransaction) -> PostResult:
        before = await self.lock_accounts([e.account_id for e in txn.entries])
        try:
            ledger.check_posting(before, txn)
        except DomainError:
            return PostResult(False, before)
        await self._write_sqlite(txn)
        return PostResult(True, before)

    async def add_conversion(self, record: fx.ConversionRecord) -> None:
        await fx_records.add(self.conn, record)

    async def _post_pg(self, txn: JournalTransaction) -> PostResult:
        deltas = txn.deltas()
        ids = sorted(deltas)  # one locking order for every posting: no deadlocks
        currencies: dict[str, str] = {}
        for e in txn.entries:
            if currencies.setdefault(e.account_id, e.currency) != e.currency:
                currencies[e.account_id] = ""  # entries in two currencies: matches no account, so refused
        rows = await self.driver.fetch(
            PG_POST,
            ids,
            [deltas[i] for i in ids],
            [currencies[i] for i in ids],
            txn.id,
            txn.kind,
            txn.memo,
            txn.created_at,
            txn.reference,
            [e.account_id for e in txn.entries],
            [e.amount for e in txn.entries],
            [e.currency for e in txn.entries],
        )
        before = {row[0]: self._account(row) for row in rows}
        return PostResult(bool(rows) and bool(rows[0][8]), before)

    async def _write_sqlite(self, txn: JournalTransaction) -> None:
        driver = self.driver
        created = driver.time_param(txn.created_at)
        await driver.fetch(_SQLITE_ADD_TRANSACTION, txn.id, txn.kind, txn.memo, created, txn.reference)
        entry_rows = [(txn.id, e.account_id, e.amount, e.currency) for e in txn.entries]
        await driver.execute_many(_SQLITE_ADD_ENTRY, entry_rows)
        await driver.execute_many(_SQLITE_MOVE_POSTED, [(d, a) for a, d in txn.deltas().items()])

    def _account(self, row: Sequence[Any]) -> Account:
        """An account from a driver row in _COLUMNS order."""
        id, type, currency, allow_overdraft, posted, pending, name, created_at = row[:8]
        if not (_whole(posted) and _whole(pending)):
            # Written behind the server's back: SQLite keeps whatever it is given, and an owner can change a type.
            raise DataError(
                f"account {id} holds a money value that is not an integer: it was changed outside the server; "
                "run check_ledger_integrity",
                account_id=id,
            )
        return Account(
            id,
            AccountType(type),
            currency,
            bool(allow_overdraft),
            int(posted),
            int(pending),
            name,
            self.driver.time_value(created_at),
        )

    async def adjust_pending(self, account_id: str, delta: int) -> None:
        await self.conn.execute(
            update(accounts).where(accounts.c.id == account_id).values(pending=accounts.c.pending + delta)
        )

    async def add_hold(self, hold: Hold) -> None:
        await self.conn.execute(insert(holds).values(row_of(hold)))

    async def lock_hold(self, hold_id: str) -> Hold | None:
        query = select(holds).where(holds.c.id == hold_id)
        if self.pg:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        return _hold(row) if row else None

    async def get_hold(self, hold_id: str) -> Hold | None:
        row = (await self.conn.execute(select(holds).where(holds.c.id == hold_id))).first()
        return _hold(row) if row else None

    async def update_hold(self, hold: Hold) -> None:
        row = row_of(hold)
        await self.conn.execute(update(holds).where(holds.c.id == hold.id).values(row))

    async def claim_expired_holds(self, claim: Claim) -> list[Hold]:
        # Any number of workers may sweep at once; each hold is claimed by exactly one.
        query = select(holds).where(*_expired(claim)).order_by(holds.c.expires_at, holds.c.id)
        return [_hold(row) for row in await self.conn.execute(claiming(query, claim, self.pg))]

    async def oldest_expired_hold(self, claim: Claim) -> datetime | None:
        oldest: datetime | None = (
            await self.conn.execute(select(func.min(holds.c.expires_at)).where(*_expired(claim)))
        ).scalar_one()
        return oldest

    async def statement(self, account_id: str, after_entry: int | None, limit: int) -> list[StatementLine]:
        """Newest first; `after_entry` continues below that entry id."""
        query = (
            select(
                entries.c.id,
                entries.c.transaction_id,
                entries.c.amount,
                entries.c.currency,
                journal_transactions.c.kind,
                journal_transactions.c.memo,
                journal_transactions.c.created_at,
            )
            .join(journal_transactions, journal_transactions.c.id == entries.c.transaction_id)
            .where(entries.c.account_id == account_id)
            .order_by(entries.c.id.desc())
            .limit(limit)
        )
        if after_entry is not None:
            query = query.where(entries.c.id < after_entry)
        rows = (await self.conn.execute(query)).all()
        if not rows:
            return []
        posted = (await self.conn.execute(select(accounts.c.posted).where(accounts.c.id == account_id))).scalar_one()
        newer = (
            await self.conn.execute(
                select(func.coalesce(func.sum(entries.c.amount), 0)).where(
                    entries.c.account_id == account_id, entries.c.id > rows[0].id
                )
            )
        ).scalar_one()
        others: dict[str, list[str]] = {}
        for txn_id, other in await self.conn.execute(
            select(entries.c.transaction_id, entries.c.account_id).where(
                entries.c.transaction_id.in_({r.transaction_id for r in rows}),
                entries.c.account_id != account_id,
            )
        ):
            others.setdefault(txn_id, []).append(other)
        balance = int(posted) - int(newer)
        lines = []
        for r in rows:
            lines.append(
                StatementLine(
                    r.id,
                    r.transaction_id,
                    r.kind,
                    r.memo,
                    r.amount,
                    r.currency,
                    r.created_at,
                    balance,
                    tuple(sorted(others.get(r.transaction_id, []))),
                )
            )
            balance -= r.amount
        return lines

    async def transactions_for(self, reference: str) -> list[JournalTransaction]:
        return await self._transactions(
            journal_transactions.c.reference == reference,
            order=(journal_transactions.c.created_at, journal_transactions.c.id, entries.c.id),
        )

    async def journal_page(self, after: str | None, limit: int) -> list[JournalTransaction]:
        """Up to `limit` journal transactions with their entries, in id order, after the id `after`."""
        ids = select(journal_transactions.c.id).order_by(journal_transactions.c.id).limit(limit)
        if after is not None:
            ids = ids.where(journal_transactions.c.id > after)
        return await self._transactions(
            journal_transactions.c.id.in_(ids.scalar_subquery()), order=(journal_transactions.c.id, entries.c.id)
        )

    async def _transactions(self, where: Any, order: tuple[Any, ...]) -> list[JournalTransaction]:
        # An outer join: a transaction left without entries (its rows deleted behind our back) still shows.
        rows = (
            await self.conn.execute(
                select(journal_transactions, entries.c.account_id, entries.c.amount, entries.c.currency)
                .outerjoin(entries, entries.c.transaction_id == journal_transactions.c.id)
                .where(where)
                .order_by(*order)
            )
        ).all()
        grouped: dict[str, list[Any]] = {}
        for r in rows:
            grouped.setdefault(r.id, []).append(r)
        return [
            JournalTransaction.stored(
                txn_id,
                group[0].kind,
                tuple(Entry(r.account_id, int(r.amount), r.currency) for r in group if r.account_id is not None),
                group[0].memo,
                group[0].created_at,
                group[0].reference,
            )
            for txn_id, group in grouped.items()
        ]

    async def entries_of(self, transaction_id: str) -> list[Entry]:
        rows = await self.conn.execute(
            select(entries.c.account_id, entries.c.amount, entries.c.currency)
            .where(entries.c.transaction_id == transaction_id)
            .order_by(entries.c.id)
        )
        return [Entry(r.account_id, r.amount, r.currency) for r in rows]

    async def not_integers(self) -> list[tuple[str, str]]:
        """(kind, id) of rows whose money values are not integers; always empty on PostgreSQL."""
        if self.pg:
            return []
        return [(str(kind), str(row_id)) for kind, row_id in await self.driver.fetch(_SQLITE_NOT_INTEGERS)]

    async def totals(self) -> LedgerTotals:
        try:
            return await self._totals()
        except Exception as error:
            # An integer overflow in SQLite's SUM is a data error (values past the limits), not an outage.
            raise translate(error) from error

    async def account_findings(self, limit: int) -> AccountFindings:
        try:
            rows = await self.driver.fetch(_PG_ACCOUNT_FINDINGS if self.pg else _SQLITE_ACCOUNT_FINDINGS, limit)
            counted = await self.driver.fetch("SELECT count(*) FROM accounts")
        except Exception as error:
            # An integer overflow in SQLite's SUM is a data error (values past the limits), not an outage.
            raise translate(error) from error
        found = [self._account(row) for row in rows]  # DataError for a value that is not an integer
        return AccountFindings(
            int(counted[0][0]),
            found,
            {row[0]: int(row[8]) for row in rows},
            {row[0]: int(row[9]) for row in rows},
            int(rows[0][10]) if rows else 0,
        )

    async def _totals(self) -> LedgerTotals:
        unbalanced = [
            r[0]
            for r in await self.conn.execute(
                select(entries.c.transaction_id)
                .group_by(entries.c.transaction_id, entries.c.currency)
                .having(func.sum(entries.c.amount) != 0)
            )
        ]
        too_short = [
            r[0]
            for r in await self.conn.execute(
                select(journal_transactions.c.id)
                .outerjoin(entries, entries.c.transaction_id == journal_transactions.c.id)
                .group_by(journal_transactions.c.id)
                .having(func.count(entries.c.id) < 2)
            )
        ]
        global_sums = {
            r[0]: int(r[1])
            for r in await self.conn.execute(
                select(entries.c.currency, func.sum(entries.c.amount)).group_by(entries.c.currency)
            )
        }
        n_txn = (await self.conn.execute(select(func.count()).select_from(journal_transactions))).scalar_one()
        n_ent = (await self.conn.execute(select(func.count()).select_from(entries))).scalar_one()
        return LedgerTotals(
            sorted(set(unbalanced) | set(too_short)),
            global_sums,
            int(n_txn),
            int(n_ent),
            await fx_records.positions(self.conn),
            await fx_records.all_records(self.conn),
            await fx_records.unmatched(self.conn),
        )


def _whole(value: object) -> bool:
    """An integer, or a whole number of a numeric type (a float is never one: SQLite made it by overflowing)."""
    return isinstance(value, int) or (isinstance(value, Decimal) and value == value.to_integral_value())


def _expired(claim: Claim) -> tuple[ColumnElement[bool], ...]:
    return (holds.c.status == HoldStatus.ACTIVE.value, holds.c.expires_at <= claim.now, claimable(claim, holds.c.id))


def _hold(row: Row[Any]) -> Hold:
    return Hold(**{**row._mapping, "status": HoldStatus(row.status)})
