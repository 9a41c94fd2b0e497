"""Subscription changes: a pause's collection and scheduled resume, and the proration lines waiting for the next
invoice.

Revision ID: 0014_subscription_changes
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.tables import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MAX_AMOUNT = 999_999_999_999  # written out: a migration states the limits it installed


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("pause_collection", sa.String(20)))
    op.add_column("subscriptions", sa.Column("resumes_at", UTCDateTime))
    op.create_index("ix_subscriptions_status_resumes_at", "subscriptions", ["status", "resumes_at"])
    op.create_table(
        "pending_invoice_lines",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.String(40), sa.ForeignKey("subscriptions.id"), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("description", sa.String(300), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("period_start", UTCDateTime, nullable=False),
        sa.Column("period_end", UTCDateTime, nullable=False),
        sa.CheckConstraint("kind IN ('proration_credit', 'proration_debit')", name="kind_known"),
        sa.CheckConstraint(f"amount BETWEEN {-MAX_AMOUNT} AND {MAX_AMOUNT}", name="within_limits"),
    )
    op.create_index("ix_pending_invoice_lines_subscription_id_id", "pending_invoice_lines", ["subscription_id", "id"])


def downgrade() -> None:
    op.drop_table("pending_invoice_lines")
    op.drop_index("ix_subscriptions_status_resumes_at", "subscriptions")
    op.drop_column("subscriptions", "resumes_at")
    op.drop_column("subscriptions", "pause_collection")
