"""Customer insights from rollups: per UTC month, customer and currency, the captured payments created in it and
their net; and each customer's first payment that captured money.

get_customer_insights grouped every payment of its range by customer three times (2.3 s at a million payments on
PostgreSQL). The monthly sums hold about 0.7 rows per payment in the demo history (six payments per customer a
year: a per-day grain would hold one row per payment), and are narrow; the first payments make "new or returning"
and the cohorts a lookup instead of a probe of every customer's history.

Kept as the rollups of 0025 are: every change of a payment appends a delta (the change of its contribution: minus
the old row's, plus the new row's) in the same transaction, by a trigger; the compaction job folds the deltas in
(adapters/db/rollups.py); readers add both (adapters/db/customer_insights.py). A customer's first payment is kept
directly: a newly captured payment can only make it earlier (an upsert that keeps the minimum, safe under
concurrent writers); a captured payment that stops counting (deleted, moved to another customer or time; none
of which the tools do) has its customer's first payment recomputed by one probe of the partial index of 0025.

The history already in the database is summed straight into the rollups here (no deltas: the triggers are created
in the same transaction, and a writer waits for it).

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.tables import UTCDateTime

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

DELTAS, ROLLUPS, FIRSTS = "analytics_customer_deltas", "analytics_customer_rollups", "analytics_customer_firsts"
OPS = ("INSERT", "UPDATE", "DELETE")
_REFERENCING = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}
COUNTS = "{x}.amount_received > 0 AND {x}.customer_id IS NOT NULL"


def _month(pg: bool, column: str) -> str:
    """The start of the UTC month holding `column`, in seconds since the epoch."""
    if pg:
        return f"extract(epoch FROM date_trunc('month', {column} AT TIME ZONE 'UTC'))::bigint"
    return f"CAST(strftime('%s', substr({column}, 1, 7) || '-01') AS INTEGER)"


def _net(x: str) -> str:
    return f"CASE WHEN {x}.disputed THEN 0 ELSE {x}.amount_received - {x}.amount_refunded END"


def _contribution(pg: bool, rows: str, sign: int) -> str:
    x = "x" if pg else ("NEW" if rows == "new_rows" else "OLD")
    source = f"FROM {rows} x " if pg else ""
    return (
        f"SELECT {_month(pg, x + '.created_at')} AS month, {x}.customer_id AS customer_id, {x}.currency AS currency, "
        f"{sign} AS payments, {sign} * {_net(x)} AS net {source}WHERE {COUNTS.format(x=x)}"
    )


def _delta(pg: bool, op_name: str) -> str:
    sides = {"INSERT": [("new_rows", 1)], "UPDATE": [("new_rows", 1), ("old_rows", -1)], "DELETE": [("old_rows", -1)]}
    parts = " UNION ALL ".join(_contribution(pg, rows, sign) for rows, sign in sides[op_name])
    return (
        f"INSERT INTO {DELTAS} (month, customer_id, currency, payments, net) "
        f"SELECT month, customer_id, currency, sum(payments), sum(net) FROM ({parts}) c "
        "GROUP BY month, customer_id, currency HAVING sum(payments) <> 0 OR sum(net) <> 0"
    )


def _earlier_first(pg: bool, op_name: str) -> str:
    """A payment that captured money may be its customer's first (only a capture, or a new payment, can be)."""
    keep = (
        f"ON CONFLICT (customer_id) DO UPDATE SET first_at = excluded.first_at "
        f"WHERE excluded.first_at < {FIRSTS}.first_at"
    )
    if not pg:
        return (
            f"INSERT INTO {FIRSTS} (customer_id, first_at) SELECT NEW.customer_id, NEW.created_at "
            f"WHERE {COUNTS.format(x='NEW')} {keep}"
        )
    # Only the rows that began to count (an update of a refund or a status leaves the first payment alone, and locks
    # nothing), and not those already later than the first payment known.
    began = (
        ""
        if op_name == "INSERT"
        else " AND NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND o.amount_received > 0 "
        "AND o.customer_id = n.customer_id AND o.created_at = n.created_at)"
    )
    return (
        f"INSERT INTO {FIRSTS} (customer_id, first_at) SELECT n.customer_id, min(n.created_at) FROM new_rows n "
        f"WHERE {COUNTS.format(x='n')}{began} AND NOT EXISTS (SELECT 1 FROM {FIRSTS} f "
        f"WHERE f.customer_id = n.customer_id AND f.first_at <= n.created_at) GROUP BY n.customer_id {keep}"
    )


def _recomputed_first(pg: bool, op_name: str) -> list[str]:
    """A payment that stopped counting for its customer (deleted, no longer captured, moved): that customer's first
    payment again, from the payments."""
    if pg:
        gone = f"SELECT o.customer_id FROM old_rows o WHERE {COUNTS.format(x='o')}"
        if op_name == "UPDATE":
            gone += (
                " AND NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND n.amount_received > 0 "
                "AND n.customer_id = o.customer_id AND n.created_at = o.created_at)"
            )
        guard = "IF EXISTS (" + gone + ") THEN\n"
        who = f"customer_id IN ({gone})"
    else:
        still = ""
        if op_name == "UPDATE":
            still = " AND NOT (NEW.amount_received > 0 AND NEW.customer_id IS OLD.customer_id"
            still += " AND NEW.created_at = OLD.created_at)"
        guard = ""
        who = f"customer_id = OLD.customer_id AND {COUNTS.format(x='OLD')}{still}"
    statements = [
        f"DELETE FROM {FIRSTS} WHERE {who}",
        f"INSERT INTO {FIRSTS} (customer_id, first_at) SELECT p.customer_id, min(p.created_at) FROM payments p "
        f"WHERE p.amount_received > 0 AND p.{who} GROUP BY p.customer_id",
    ]
    if pg:
        return [guard + ";\n".join(statements) + ";\nEND IF"]
    return statements


def _statements(pg: bool, op_name: str) -> list[str]:
    found = [_delta(pg, op_name)]
    if op_name != "INSERT":
        found += _recomputed_first(pg, op_name)
    if op_name != "DELETE":
        found.append(_earlier_first(pg, op_name))
    return found


def _name(op_name: str) -> str:
    return f"analytics_customers_{op_name.lower()}"


def _create_triggers(pg: bool) -> None:
    for op_name in OPS:
        name = _name(op_name)
        body = ";\n".join(_statements(pg, op_name)) + ";"
        if pg:
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}\nRETURN NULL;\nEND\n$$"
            )
            op.execute(
                f"CREATE TRIGGER {name} AFTER {op_name} ON payments {_REFERENCING[op_name]} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
        else:
            op.execute(f"CREATE TRIGGER {name} AFTER {op_name} ON payments FOR EACH ROW BEGIN\n{body}\nEND")


def _backfill(pg: bool) -> None:
    op.execute(
        f"INSERT INTO {ROLLUPS} (month, customer_id, currency, payments, net) "
        f"SELECT {_month(pg, 'p.created_at')}, p.customer_id, p.currency, count(*), sum({_net('p')}) "
        f"FROM payments p WHERE {COUNTS.format(x='p')} GROUP BY 1, 2, 3"
    )
    op.execute(
        f"INSERT INTO {FIRSTS} (customer_id, first_at) SELECT p.customer_id, min(p.created_at) FROM payments p "
        f"WHERE {COUNTS.format(x='p')} GROUP BY p.customer_id"
    )
    if pg:  # the planner's statistics, before the first read
        op.execute(f"ANALYZE {ROLLUPS}, {FIRSTS}")


AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        DELTAS,
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("month", sa.BigInteger, nullable=False),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("payments", sa.Integer, nullable=False),
        sa.Column("net", sa.BigInteger, nullable=False),
    )
    op.create_index(f"ix_{DELTAS}_month", DELTAS, ["month"])
    op.create_table(
        ROLLUPS,
        sa.Column("month", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.String(40), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("payments", sa.Integer, nullable=False),
        sa.Column("net", sa.BigInteger, nullable=False),
    )
    op.create_table(
        FIRSTS,
        sa.Column("customer_id", sa.String(40), primary_key=True),
        sa.Column("first_at", UTCDateTime, nullable=False),
    )
    op.create_index(f"ix_{FIRSTS}_first_at", FIRSTS, ["first_at"])
    _create_triggers(pg)
    _backfill(pg)


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for op_name in OPS:
        name = _name(op_name)
        op.execute(f"DROP TRIGGER {name} ON payments" if pg else f"DROP TRIGGER {name}")
        if pg:
            op.execute(f"DROP FUNCTION {name}()")
    for table in (FIRSTS, ROLLUPS, DELTAS):
        op.drop_table(table)
