"""PostgreSQL: post_journal(), which posts a journal transaction in one round trip.

It replaces a statement of data-modifying CTEs that locked the accounts with SELECT ... FOR UPDATE
before updating them: the row lock was a second WAL record per account, and the whole statement
cost ~1.3-1.4x the PostgreSQL CPU of the plain transfer it does (benchmarks/transfers.py, docs/benchmarks.md).
Here each account is one conditional UPDATE, in the order given (sorted by id, so concurrent
postings never deadlock). The condition is re-checked by PostgreSQL on the newest row version
when a concurrent posting got there first, so the overdraft check is exact. A refused posting
undoes the updates it made before the refusal and inserts nothing: it leaves no trace even if
the caller went on to commit. Before it says "refused" it locks the accounts and tries once more,
so the rows it returns are the ones that refused (the caller explains the refusal from them).

SQLite has no stored functions; its posting runs under the database's single write lock
(adapters/db/ledger_repo.py).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

POST_JOURNAL = """
CREATE FUNCTION post_journal(
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
    befores accounts[] := '{}';
BEGIN
    FOR attempt IN 1..2 LOOP
        -- One conditional UPDATE per account, in the order given (sorted by id by the caller).
        moved := 0;
        befores := '{}';
        FOR i IN 1..n LOOP
            UPDATE accounts a SET posted = a.posted + p_deltas[i]
            WHERE a.id = p_accounts[i] AND a.currency = p_currencies[i]
              AND (p_deltas[i] >= 0 OR a.allow_overdraft OR a.posted - a.pending + p_deltas[i] >= 0)
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


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POST_JOURNAL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS post_journal(text[], bigint[], text[], text, text, text, timestamptz, text, "
            "text[], bigint[], text[])"
        )
