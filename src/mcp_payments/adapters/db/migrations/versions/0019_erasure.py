"""GDPR erasure and retention: when a customer's personal data was erased; the journal's memo and a payment
event's data may be rewritten (to erase personal data in them), nothing else of those append-only rows; indexes
for the retention job's scans.

The journal stays append-only for what the books and the audit chain bind (id, kind, reference, time, entries:
domain/audit.py journal_digest leaves the memo out for this reason).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.tables import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# Per table: the one column an erasure may rewrite, and the columns that stay as they were written.
_REWRITABLE = {
    "journal_transactions": ("memo", ("id", "kind", "created_at", "reference")),
    "payment_events": ("data", ("id", "payment_id", "type", "created_at")),
}


def upgrade() -> None:
    op.add_column("customers", sa.Column("erased_at", UTCDateTime))
    op.create_index("ix_spend_records_at", "spend_records", ["at"])
    op.create_index("ix_webhook_deliveries_status_updated_at", "webhook_deliveries", ["status", "updated_at"])
    pg = op.get_bind().dialect.name == "postgresql"
    for table, (column, fixed) in _REWRITABLE.items():
        if pg:
            same = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in fixed)
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"""
                CREATE FUNCTION {table}_{column}_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'UPDATE' AND {same} THEN RETURN NEW; END IF;
                    RAISE EXCEPTION '{table} is append-only: only its {column} may be erased';
                END $$
            """)
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_{column}_only()"
            )
        else:
            # SQLite's UPDATE OF fires when a listed column is set at all: an erasure sets only the one column.
            op.execute(f"DROP TRIGGER {table}_no_update")
            op.execute(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OF {', '.join(fixed)} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: only its {column} may be erased'); END"
            )


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for table, (column, _) in _REWRITABLE.items():
        if pg:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION {table}_{column}_only()")
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION forbid_change()"
            )
        else:
            op.execute(f"DROP TRIGGER {table}_no_update")
            op.execute(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    op.drop_index("ix_webhook_deliveries_status_updated_at", "webhook_deliveries")
    op.drop_index("ix_spend_records_at", "spend_records")
    op.drop_column("customers", "erased_at")
