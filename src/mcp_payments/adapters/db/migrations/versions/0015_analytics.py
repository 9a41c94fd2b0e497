"""Analytics: indexes for reading refunds, payment attempts and the journal's disputes by time range.

Revision ID: 0015_analytics
Revises: 0010
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_refunds_created_at", "refunds", ["created_at"])
    op.create_index("ix_payment_attempts_created_at", "payment_attempts", ["created_at"])
    op.create_index("ix_journal_transactions_kind_created_at", "journal_transactions", ["kind", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_journal_transactions_kind_created_at", "journal_transactions")
    op.drop_index("ix_payment_attempts_created_at", "payment_attempts")
    op.drop_index("ix_refunds_created_at", "refunds")
