"""Limits on amounts and balances, enforced by the database as the second line of defence.

The domain refuses an amount above MAX_AMOUNT per call and a balance past MAX_BALANCE (a wallet) or
LEDGER_LIMIT (any account): domain/money.py. Here the database holds the same line:
- PostgreSQL: post_journal() moves an account only while its new balance stays within the limits (so a
  refused posting is explained by the domain, as any refusal is), and CHECK constraints on the money columns.
- SQLite: a column of any declared type accepts any value, and an integer sum that overflows 64 bits turns
  into a float silently. SQLite cannot add a CHECK constraint to an existing table without rebuilding it
  (and its append-only triggers and foreign keys with it), so triggers refuse a money value that is not an
  integer or is outside the limits, on insert and on update. tables.py declares the CHECK constraints of
  the PostgreSQL side; autogenerate does not compare CHECK constraints, so both backends match it.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Written out, not imported: a migration states the limits it installed, whatever the code says later.
MAX_AMOUNT = 999_999_999_999
MAX_BALANCE = 999_999_999_999_999
LEDGER_LIMIT = 999_999_999_999_999_999

# 0003's post_journal(), with {limits} among the conditions under which an account moves.
POST_JOURNAL = """
CREATE OR REPLACE FUNCTION post_journal(
    p_accounts text[], p_deltas bigint[], p_currencies text[],
    p_id text, p_kind text, p_memo text, p_created_at timestamptz, p_reference text,
    p_entry_accounts text[], p_entry_amounts bigint[], p_entry_currencies text[]
) RETURNS TABLE (
    id text, type text, currency text, allow_overdraft boolean, posted bigint, pending bigint,
    name text, created_at timestamptz, applied boolean
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    n integer := coalesce(cardinality(p_accounts), 0);
    moved integer := 0;
    acc accounts;
    befores accounts[] := '{{}}';
BEGIN
    FOR attempt IN 1..2 LOOP
        -- One conditional UPDATE per account, in the order given (sorted by id by the caller).
        moved := 0;
        befores := '{{}}';
        FOR i IN 1..n LOOP
            UPDATE accounts a SET posted = a.posted + p_deltas[i]
            WHERE a.id = p_accounts[i] AND a.currency = p_currencies[i]
              AND (p_deltas[i] >= 0 OR a.allow_overdraft OR a.posted - a.pending + p_deltas[i] >= 0)
              {limits}
            RETURNING a.* INTO acc;
            EXIT WHEN NOT FOUND;
            acc.posted := acc.posted - p_deltas[i];
            befores := befores || acc;
            moved := i;
        END LOOP;
        IF n > 0 AND moved = n THEN
            INSERT INTO journal_transactions (id, kind, memo, created_at, reference)
            VALUES (p_id, p_kind, p_memo, p_created_at, p_reference);
            INSERT INTO entries (transaction_id, account_id, amount, currency)
            SELECT p_id, e.account_id, e.amount, e.currency
            FROM unnest(p_entry_accounts, p_entry_amounts, p_entry_currencies) AS e(account_id, amount, currency);
            -- The accounts as they were just before this posting (and after any that committed before it).
            RETURN QUERY SELECT b.id::text, b.type::text, b.currency::text, b.allow_overdraft, b.posted, b.pending,
                                b.name::text, b.created_at, true
                         FROM unnest(befores) AS b;
            RETURN;
        END IF;
        -- Refused: undo what was moved (those rows stay locked by us).
        FOR i IN 1..moved LOOP
            UPDATE accounts a SET posted = a.posted - p_deltas[i] WHERE a.id = p_accounts[i];
        END LOOP;
        EXIT WHEN attempt = 2;  -- refused on rows we hold locked: final
        -- A concurrent posting may change the accounts right after this refusal (a deposit, say), and the
        -- caller must be told why on the rows that refused. So lock them all, in id order (we hold a
        -- prefix of that order already), and decide once more on rows nobody else can change now.
        PERFORM 1 FROM accounts a WHERE a.id = ANY(p_accounts) ORDER BY a.id FOR UPDATE;
    END LOOP;
    RETURN QUERY SELECT a.id::text, a.type::text, a.currency::text, a.allow_overdraft, a.posted, a.pending,
                        a.name::text, a.created_at, false
                 FROM accounts a WHERE a.id = ANY(p_accounts) ORDER BY a.id;
END $$
"""

# (table, column, lowest, highest): every money column and the range it may hold.
MONEY_COLUMNS = (
    ("accounts", "posted", -LEDGER_LIMIT, LEDGER_LIMIT),
    ("accounts", "pending", 0, MAX_BALANCE),
    ("entries", "amount", -LEDGER_LIMIT, LEDGER_LIMIT),
    ("holds", "amount", 1, MAX_AMOUNT),
    ("holds", "captured_amount", 0, MAX_AMOUNT),
    ("payments", "amount", 1, MAX_AMOUNT),
    ("payments", "amount_capturable", 0, MAX_AMOUNT),
    ("payments", "amount_received", 0, MAX_AMOUNT),
    ("payments", "amount_refunded", 0, MAX_AMOUNT),
    ("payments", "amount_allocated", 0, MAX_AMOUNT),
    ("payments", "fee", 0, MAX_AMOUNT),
    ("refunds", "amount", 1, MAX_AMOUNT),
    ("fx_conversions", "source_amount", 1, MAX_AMOUNT),
    ("fx_conversions", "source_used", 1, MAX_AMOUNT),
    ("fx_conversions", "residue", 0, MAX_AMOUNT),
    ("fx_conversions", "target_amount", 1, LEDGER_LIMIT),
)
TABLES = ("accounts", "entries", "holds", "payments", "refunds", "fx_conversions")
LIMITS = (
    f"AND abs(a.posted + p_deltas[i]) <= {LEDGER_LIMIT} "
    f"AND (a.allow_overdraft OR a.posted + p_deltas[i] <= {MAX_BALANCE})"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POST_JOURNAL.format(limits=LIMITS))
        for table in TABLES:
            ranges = " AND ".join(f"{c} BETWEEN {lo} AND {hi}" for t, c, lo, hi in MONEY_COLUMNS if t == table)
            if table == "accounts":
                ranges += f" AND (allow_overdraft OR posted <= {MAX_BALANCE})"
            op.create_check_constraint("within_limits", table, ranges)
        return
    for table in TABLES:
        columns = [(c, lo, hi) for t, c, lo, hi in MONEY_COLUMNS if t == table]
        bad = " OR ".join(f"typeof(NEW.{c}) != 'integer' OR NEW.{c} < {lo} OR NEW.{c} > {hi}" for c, lo, hi in columns)
        if table == "accounts":
            bad += f" OR NOT (NEW.allow_overdraft OR NEW.posted <= {MAX_BALANCE})"
        for action in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {table}_limits_on_{action.lower()} BEFORE {action} ON {table} "
                f"WHEN {bad} BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {table} money within limits'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POST_JOURNAL.format(limits=""))
        for table in TABLES:
            op.drop_constraint(f"ck_{table}_within_limits", table, type_="check")
        return
    for table in TABLES:
        for action in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_limits_on_{action}")
