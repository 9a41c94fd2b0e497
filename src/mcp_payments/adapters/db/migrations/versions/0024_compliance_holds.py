"""Compliance holds: an approval may spend nothing (create_customer held for a sanctions review of the name), so
its amount and currency may both be null; and the AML rules' time windows read a wallet's recent journal
transactions by time (services/aml.py), through an index on journal_transactions.created_at instead of a scan of
every entry the wallet ever had.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.alter_column("currency", existing_type=sa.String(3), nullable=True)
        batch.alter_column("amount", existing_type=sa.BigInteger, nullable=True)
        batch.create_check_constraint("approval_amount_has_currency", "(amount IS NULL) = (currency IS NULL)")
    op.create_index("ix_journal_transactions_created_at", "journal_transactions", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_journal_transactions_created_at", "journal_transactions")
    op.execute("DELETE FROM approvals WHERE amount IS NULL")
    with op.batch_alter_table("approvals") as batch:
        batch.drop_constraint("approval_amount_has_currency", type_="check")
        batch.alter_column("amount", existing_type=sa.BigInteger, nullable=False)
        batch.alter_column("currency", existing_type=sa.String(3), nullable=False)
