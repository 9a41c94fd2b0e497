"""The journal against the audit log, both ways, in one statement that returns only what disagrees.

Each audit record binds the journal transactions its call caused ([[transaction id, digest], ...] in its body,
domain/audit.py). The statement unpacks every record's bindings (json_each / jsonb_array_elements), recomputes
every transaction's digest from its columns and entries in the database, and keeps the disagreements: a
transaction bound twice, a transaction bound by no record, a transaction whose digest changed, a binding whose
transaction is gone. Only those rows, capped per kind, come back, with how many there are of each.

The digest is audit.journal_digest's: SHA-256 of the canonical JSON of {id, kind, reference, created_at,
entries}. PostgreSQL writes that JSON in SQL (its quotes and backslashes escaped, so that no change of a value
can spell another transaction's text) and hashes it with sha256(); SQLite has no SHA-256, so a Python function
registered on each connection (register_sqlite) hands each transaction to audit.digest_of_journal itself.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from mcp_payments.adapters.db.driver import Driver
from mcp_payments.domain import audit
from mcp_payments.services.monitoring_ports import BindingFindings

_PG_ESCAPED = r"""replace(replace({}, '\', '\\'), '"', '\"')"""


def _esc(column: str) -> str:
    return _PG_ESCAPED.format(column)


# isoformat() of an aware UTC datetime: microseconds only when there are some.
_PG_ISO = (
    "to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
    "CASE WHEN extract(microseconds FROM t.created_at)::bigint % 1000000 = 0 THEN '' "
    "ELSE to_char(t.created_at AT TIME ZONE 'UTC', '.US') END || '+00:00'"
)
_PG_ENTRY = f"""'["' || {_esc("e.account_id")} || '",' || e.amount::text || ',"' || {_esc("e.currency")} || '"]'"""
_PG_DIGEST = f"""encode(sha256(convert_to(
    '{{"created_at":"' || {_PG_ISO} || '","entries":['
    || coalesce(string_agg({_PG_ENTRY}, ',' ORDER BY e.account_id COLLATE "C", e.amount, e.currency COLLATE "C"), '')
    || '],"id":"' || {_esc("t.id")} || '","kind":"' || {_esc("t.kind")} || '","reference":'
    || coalesce('"' || {_esc("t.reference")} || '"', 'null') || '}}', 'UTF8')), 'hex')"""

_PG_BINDINGS = """
    SELECT a.id AS record_id, j.value ->> 0 AS txn_id, j.value ->> 1 AS digest
    FROM (SELECT id, record::jsonb -> 'journal' AS journal FROM audit_log) a
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(a.journal) = 'array' THEN a.journal ELSE '[]'::jsonb END
    ) j
"""
_SQLITE_BINDINGS = """
    SELECT a.id AS record_id, json_extract(j.value, '$[0]') AS txn_id, json_extract(j.value, '$[1]') AS digest
    FROM audit_log a, json_each(a.record, '$.journal') j
    WHERE json_type(a.record, '$.journal') = 'array'
"""
# An entry as account, amount and currency between unit separators, entries between record separators, with
# their count: journal_digest (register_sqlite) refuses a text that does not split back into exactly that many
# entries of three fields, so that no value holding a separator can pass for other entries.
_SQLITE_DIGEST = (
    "journal_digest(t.id, t.kind, t.reference, t.created_at, "
    "group_concat(e.account_id || char(31) || e.amount || char(31) || e.currency, char(30)), count(e.id))"
)

# part 1: a transaction bound by a second record (k1, k2: record, transaction); part 2: a transaction with no
# record, or one no longer matching the newest record binding it (k1: transaction); part 3: a binding whose
# transaction is missing from the journal (k1, k2: record, transaction).
_FINDINGS = """
WITH p AS (SELECT {unbound} AS unbound),
b AS MATERIALIZED ({bindings}),
d AS (
    SELECT t.id, t.created_at, {digest} AS actual
    FROM journal_transactions t LEFT JOIN entries e ON e.transaction_id = t.id
    GROUP BY t.id
),
-- Each transaction once, from the journal's side and the bindings' side: grouped, not joined (SQLite would
-- join two unindexed subqueries row by row). record: the newest record binding it; bound: how many do.
txns AS MATERIALIZED (
    SELECT txn, max(in_journal) AS in_journal, max(created_at) AS created_at, max(actual) AS actual,
        max(record) AS record, max(digest) AS digest, count(record) AS bound
    FROM (
        SELECT id AS txn, 1 AS in_journal, created_at, actual, NULL AS record, NULL AS digest FROM d
        UNION ALL
        SELECT txn_id, 0, NULL, NULL, record_id, digest FROM b
    ) sides
    GROUP BY txn
),
-- The bindings of transactions bound more than once (none, when all is well), in record order.
multi AS MATERIALIZED (
    SELECT record_id, txn_id, digest,
        lag(record_id) OVER (PARTITION BY txn_id ORDER BY record_id) AS previous,
        row_number() OVER (PARTITION BY txn_id ORDER BY record_id DESC) AS newest
    FROM b WHERE txn_id IN (SELECT txn FROM txns WHERE bound > 1)
),
found AS (
    SELECT 1 AS part, record_id AS k1, txn_id AS k2, txn_id AS txn, record_id AS record, previous AS other
    FROM multi WHERE previous IS NOT NULL
    UNION ALL
    SELECT 2, txn, '', txn, record, NULL
    FROM txns CROSS JOIN p
    WHERE in_journal = 1 AND (
        (bound = 0 AND (p.unbound IS NULL OR created_at > p.unbound))
        OR (bound = 1 AND digest IS DISTINCT FROM actual)
        OR (bound > 1 AND actual IS DISTINCT FROM (
            SELECT m.digest FROM multi m WHERE m.txn_id = txns.txn AND m.newest = 1
        ))
    )
    UNION ALL
    SELECT 3, record, txn, txn, record, NULL FROM txns WHERE in_journal = 0
)
SELECT part, txn, record, other, n FROM (
    SELECT part, txn, record, other, count(*) OVER (PARTITION BY part) AS n,
        row_number() OVER (PARTITION BY part ORDER BY k1, k2) AS i
    FROM found
) listed
WHERE i <= {limit}
ORDER BY part, i
"""
_PG_FINDINGS = _FINDINGS.format(unbound="$1::timestamptz", bindings=_PG_BINDINGS, digest=_PG_DIGEST, limit="$2")
_SQLITE_FINDINGS = _FINDINGS.format(unbound="?", bindings=_SQLITE_BINDINGS, digest=_SQLITE_DIGEST, limit="?").replace(
    "IS DISTINCT FROM", "IS NOT"
)

# Records written before bindings existed carry no `journal`: the transactions posted before the last of them
# cannot be checked.
_PG_UNBOUND = (
    "SELECT record::jsonb ->> 'at' FROM audit_log WHERE jsonb_typeof(record::jsonb -> 'journal') IS DISTINCT FROM "
    "'array'"
)
_SQLITE_UNBOUND = (
    "SELECT json_extract(record, '$.at') FROM audit_log WHERE json_type(record, '$.journal') IS NOT 'array'"
)


async def findings(driver: Driver, limit: int) -> BindingFindings:
    pg = driver.dialect == "postgresql"
    unbound = _latest(value for (value,) in await driver.fetch(_PG_UNBOUND if pg else _SQLITE_UNBOUND))
    bound = None if unbound is None else driver.time_param(unbound)
    rows = await driver.fetch(_PG_FINDINGS if pg else _SQLITE_FINDINGS, bound, limit)
    found = BindingFindings()
    totals = {1: 0, 2: 0, 3: 0}
    for part, txn, record, other, n in rows:
        totals[int(part)] = int(n)
        if part == 1:
            found.bound_twice.append((str(txn), str(other), str(record)))
        elif part == 2:
            found.journal.append((str(txn), None if record is None else str(record)))
        else:
            found.missing.append((str(record), str(txn)))
    return BindingFindings(found.bound_twice, totals[1], found.journal, totals[2], found.missing, totals[3])


def _latest(values: Any) -> datetime | None:
    """The latest of the records' `at` times. One that does not parse extends nothing: more is reported, not less."""
    latest: datetime | None = None
    for value in values:
        try:
            at = datetime.fromisoformat(str(value))
        except ValueError:
            continue
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
        latest = at if latest is None else max(latest, at)
    return latest


def _journal_digest(txn_id: Any, kind: Any, reference: Any, created_at: Any, listed: Any, count: Any) -> str | None:
    """audit.digest_of_journal of one transaction's columns and its entries (as _SQLITE_DIGEST lists them)."""
    try:
        chunks = [] if listed is None else str(listed).split("\x1e")
        fields = [chunk.split("\x1f") for chunk in chunks]
        if len(fields) != count or any(len(f) != 3 for f in fields):
            return None  # a value holding a separator: matches no digest
        entries = [(account, int(amount), currency) for account, amount, currency in fields]
        return audit.digest_of_journal(txn_id, kind, reference, _iso(created_at), entries)
    except (TypeError, ValueError):
        return None  # a value changed into something the server never writes: matches no digest


def _iso(stored: str) -> str:
    """datetime.isoformat() of a time SQLite holds, without parsing it when it is in the form the server writes
    ("2026-05-01 12:00:00.123456": the fraction left out when zero, as isoformat() does)."""
    if len(stored) == 26 and stored[10] == " " and stored[19] == ".":
        fraction = "" if stored[20:] == "000000" else stored[19:]
        return f"{stored[:10]}T{stored[11:19]}{fraction}+00:00"
    return datetime.fromisoformat(stored).replace(tzinfo=UTC).isoformat()


def register_sqlite(conn: sqlite3.Connection) -> None:
    """The functions findings() needs, on a new SQLite connection."""
    conn.create_function("journal_digest", 6, _journal_digest, deterministic=True)
