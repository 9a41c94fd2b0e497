"""Analytics rollups: revenue and authorization attempts pre-aggregated per 15 minutes, hour and UTC day, kept exact
by triggers.

Every change to a payment, a refund, an attempt or a dispute's journal entry appends a delta row (the change of
its contribution: minus the old row's, plus the new row's) in the same transaction, by a trigger: no write path can
forget it, and no row is updated by every payment (PostgreSQL appends one grouped row per statement, from the
statement's transition tables; SQLite one per row). A job (analytics_rollups.compact, services/analytics/rollups.py)
moves the deltas into the rollups; readers add the not yet compacted deltas in the same statement
(adapters/db/analytics_repo.py). The history already in the database is appended as deltas here.

Also a partial index on captured payments by (customer_id, created_at): get_customer_insights asks, per customer
paying in its range, whether they paid before it, instead of grouping the whole history by customer.

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

REVENUE = (
    "payments_captured",
    "amount_received",
    "fees",
    "payments_refunded",
    "amount_refunded",
    "payments_disputed",
    "refunds",
    "refunds_amount",
    "disputes",
    "disputes_amount",
)
ATTEMPT_KEYS = ("brand", "currency", "outcome", "decline_code")
ACTIONS = "('authorize', 'confirm')"


def _quarter(pg: bool, column: str) -> str:
    """The start of the quarter hour holding `column`, in seconds since the epoch (SQLite: fractions dropped, as
    its strftime rounds them)."""
    if pg:
        return f"(floor(extract(epoch FROM {column}) / 900) * 900)::bigint"
    return f"(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) / 900 * 900)"


def _from(pg: bool, rows: str, alias: str) -> tuple[str, str]:
    """How a contribution reads a changed row: PostgreSQL from the statement's transition table, SQLite from the
    trigger's NEW or OLD."""
    if pg:
        return f"FROM {rows} {alias}", alias
    return "", "NEW" if rows == "new_rows" else "OLD"


def _payment(pg: bool, rows: str, sign: int) -> str:
    source, x = _from(pg, rows, "x")
    return (
        f"SELECT {_quarter(pg, x + '.created_at')} AS at, {x}.currency AS currency, {sign} AS payments_captured, "
        f"{sign} * {x}.amount_received AS amount_received, {sign} * {x}.fee AS fees, "
        f"{sign} * CASE WHEN {x}.amount_refunded > 0 THEN 1 ELSE 0 END AS payments_refunded, "
        f"{sign} * {x}.amount_refunded AS amount_refunded, "
        f"{sign} * CASE WHEN {x}.disputed THEN 1 ELSE 0 END AS payments_disputed {source} "
        f"WHERE {x}.amount_received > 0"
    )


def _refund(pg: bool, rows: str, sign: int) -> str:
    source, x = _from(pg, rows, "x")
    return (
        f"SELECT {_quarter(pg, x + '.created_at')} AS at, {x}.currency AS currency, {sign} AS refunds, "
        f"{sign} * {x}.amount AS refunds_amount {source} WHERE {x}.status IN ('pending', 'succeeded')"
    )


def _dispute(pg: bool) -> str:
    source, x = _from(pg, "new_rows", "x")
    joined = f"{source} JOIN journal_transactions t ON t.id = x.transaction_id JOIN accounts a ON a.id = x.account_id"
    if not pg:
        joined = (
            f"FROM journal_transactions t, accounts a WHERE t.id = {x}.transaction_id AND a.id = {x}.account_id AND"
        )
    else:
        joined += " WHERE"
    return (
        f"SELECT {_quarter(pg, 't.created_at')} AS at, {x}.currency AS currency, 1 AS disputes, "
        f"{x}.amount AS disputes_amount {joined} t.kind = 'dispute' AND a.type = 'disputes' AND {x}.amount > 0"
    )


def _attempt(pg: bool, rows: str, sign: int) -> str:
    source, x = _from(pg, rows, "x")
    joined = (
        f"{source} JOIN payments p ON p.id = x.payment_id WHERE"
        if pg
        else f"FROM payments p WHERE p.id = {x}.payment_id AND"
    )
    return (
        f"SELECT {_quarter(pg, x + '.created_at')} AS at, p.card_brand AS brand, p.currency AS currency, "
        f"{x}.outcome AS outcome, coalesce({x}.decline_code, '') AS decline_code, {sign} AS n "
        f"{joined} {x}.action IN {ACTIONS}"
    )


def _rekeyed_attempts(pg: bool, sign: int) -> str:
    """A payment whose brand or currency changed moves its attempts from the old key to the new one."""
    side = "n" if sign > 0 else "o"
    if pg:
        source = (
            "FROM old_rows o JOIN new_rows n ON n.id = o.id JOIN payment_attempts a ON a.payment_id = o.id "
            "WHERE (o.card_brand <> n.card_brand OR o.currency <> n.currency) AND"
        )
    else:
        side = "NEW" if sign > 0 else "OLD"
        source = (
            "FROM payment_attempts a WHERE a.payment_id = OLD.id "
            "AND (OLD.card_brand IS NOT NEW.card_brand OR OLD.currency IS NOT NEW.currency) AND"
        )
    return (
        f"SELECT {_quarter(pg, 'a.created_at')} AS at, {side}.card_brand AS brand, {side}.currency AS currency, "
        f"a.outcome AS outcome, coalesce(a.decline_code, '') AS decline_code, {sign} AS n "
        f"{source} a.action IN {ACTIONS}"
    )


def _revenue_delta(parts: list[str], measures: tuple[str, ...]) -> str:
    sums = ", ".join(f"sum({m})" for m in measures)
    nonzero = " OR ".join(f"sum({m}) <> 0" for m in measures)
    return (
        f"INSERT INTO analytics_revenue_deltas (at, currency, {', '.join(measures)}) "
        f"SELECT at, currency, {sums} FROM ({' UNION ALL '.join(parts)}) c GROUP BY at, currency HAVING {nonzero}"
    )


def _attempt_delta(parts: list[str]) -> str:
    keys = ", ".join(ATTEMPT_KEYS)
    return (
        f"INSERT INTO analytics_attempt_deltas (at, {keys}, n) SELECT at, {keys}, sum(n) "
        f"FROM ({' UNION ALL '.join(parts)}) c GROUP BY at, {keys} HAVING sum(n) <> 0"
    )


PAYMENT = REVENUE[:6]
REFUND = ("refunds", "refunds_amount")
DISPUTE = ("disputes", "disputes_amount")


def _statements(pg: bool, table: str, op_name: str) -> list[str]:
    """What a change of `table` by `op_name` appends."""
    new, old = [("new_rows", 1)], [("old_rows", -1)]
    sides = {"INSERT": new, "UPDATE": new + old, "DELETE": old}[op_name]
    if table == "payments":
        found = [_revenue_delta([_payment(pg, rows, sign) for rows, sign in sides], PAYMENT)]
        if op_name == "UPDATE":
            rekey = _attempt_delta([_rekeyed_attempts(pg, 1), _rekeyed_attempts(pg, -1)])
            if pg:  # the attempts are read only for a payment that changed brand or currency (never, so far)
                changed = "o.card_brand <> n.card_brand OR o.currency <> n.currency"
                guard = f"SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {changed}"
                rekey = f"IF EXISTS ({guard}) THEN\n{rekey};\nEND IF"
            found.append(rekey)
        return found
    if table == "refunds":
        return [_revenue_delta([_refund(pg, rows, sign) for rows, sign in sides], REFUND)]
    if table == "payment_attempts":
        return [_attempt_delta([_attempt(pg, rows, sign) for rows, sign in sides])]
    return [_revenue_delta([_dispute(pg)], DISPUTE)]  # entries: inserted only, never changed


TRIGGERS = (
    ("payments", ("INSERT", "UPDATE", "DELETE")),
    ("refunds", ("INSERT", "UPDATE", "DELETE")),
    ("payment_attempts", ("INSERT", "UPDATE", "DELETE")),
    ("entries", ("INSERT",)),
)
_REFERENCING = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}


def _name(table: str, op_name: str) -> str:
    return f"analytics_{table}_{op_name.lower()}"


def _create_triggers(pg: bool) -> None:
    for table, ops in TRIGGERS:
        for op_name in ops:
            name = _name(table, op_name)
            body = ";\n".join(_statements(pg, table, op_name)) + ";"
            if pg:
                op.execute(
                    f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                    f"BEGIN\n{body}\nRETURN NULL;\nEND\n$$"
                )
                op.execute(
                    f"CREATE TRIGGER {name} AFTER {op_name} ON {table} {_REFERENCING[op_name]} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
                )
            else:
                op.execute(f"CREATE TRIGGER {name} AFTER {op_name} ON {table} FOR EACH ROW BEGIN\n{body}\nEND")


def _backfill(pg: bool) -> None:
    """The history already written, as one delta per quarter hour and key."""
    measures = ", ".join(PAYMENT)
    sums = ", ".join(f"sum({m})" for m in PAYMENT)
    payment = _payment(pg, "payments", 1) if pg else _payment(True, "payments", 1)
    if not pg:  # the PostgreSQL form reads a table: the same query over `payments`, with SQLite's quarter
        payment = payment.replace(_quarter(True, "x.created_at"), _quarter(False, "x.created_at"))
    op.execute(
        f"INSERT INTO analytics_revenue_deltas (at, currency, {measures}) "
        f"SELECT at, currency, {sums} FROM ({payment}) c GROUP BY at, currency"
    )
    q = _quarter(pg, "created_at")
    op.execute(
        f"INSERT INTO analytics_revenue_deltas (at, currency, refunds, refunds_amount) "
        f"SELECT {q}, currency, count(*), sum(amount) FROM refunds WHERE status IN ('pending', 'succeeded') "
        f"GROUP BY 1, 2"
    )
    op.execute(
        f"INSERT INTO analytics_revenue_deltas (at, currency, disputes, disputes_amount) "
        f"SELECT {_quarter(pg, 't.created_at')}, e.currency, count(*), sum(e.amount) FROM journal_transactions t "
        "JOIN entries e ON e.transaction_id = t.id JOIN accounts a ON a.id = e.account_id "
        "WHERE t.kind = 'dispute' AND a.type = 'disputes' AND e.amount > 0 GROUP BY 1, 2"
    )
    op.execute(
        f"INSERT INTO analytics_attempt_deltas (at, brand, currency, outcome, decline_code, n) "
        f"SELECT {_quarter(pg, 'a.created_at')}, p.card_brand, p.currency, a.outcome, coalesce(a.decline_code, ''), "
        f"count(*) FROM payment_attempts a JOIN payments p ON p.id = a.payment_id WHERE a.action IN {ACTIONS} "
        "GROUP BY 1, 2, 3, 4, 5"
    )


def _measures() -> list[sa.Column[int]]:
    return [sa.Column(m, sa.BigInteger, nullable=False, server_default="0") for m in REVENUE]


def _attempt_keys() -> list[sa.Column[str]]:
    return [
        sa.Column("brand", sa.String(20), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("outcome", sa.String(30), nullable=False),
        sa.Column("decline_code", sa.String(40), nullable=False),
    ]


AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "analytics_revenue_deltas",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        *_measures(),
    )
    op.create_index("ix_analytics_revenue_deltas_at", "analytics_revenue_deltas", ["at"])
    op.create_table(
        "analytics_revenue_rollups",
        sa.Column("size", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("bucket", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("currency", sa.String(3), primary_key=True),
        *_measures(),
    )
    op.create_table(
        "analytics_attempt_deltas",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        *_attempt_keys(),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_analytics_attempt_deltas_at", "analytics_attempt_deltas", ["at"])
    op.create_table(
        "analytics_attempt_rollups",
        sa.Column("size", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("bucket", sa.BigInteger, primary_key=True, autoincrement=False),
        *[sa.Column(c.name, c.type, primary_key=True) for c in _attempt_keys()],
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_payments_captured_customer_id_created_at",
        "payments",
        ["customer_id", "created_at"],
        postgresql_where=sa.text("amount_received > 0"),
        sqlite_where=sa.text("amount_received > 0"),
    )
    _create_triggers(pg)
    _backfill(pg)


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for table, ops in TRIGGERS:
        for op_name in ops:
            name = _name(table, op_name)
            op.execute(f"DROP TRIGGER {name} ON {table}" if pg else f"DROP TRIGGER {name}")
            if pg:
                op.execute(f"DROP FUNCTION {name}()")
    op.drop_index("ix_payments_captured_customer_id_created_at", "payments")
    for table in (
        "analytics_attempt_rollups",
        "analytics_attempt_deltas",
        "analytics_revenue_rollups",
        "analytics_revenue_deltas",
    ):
        op.drop_table(table)
