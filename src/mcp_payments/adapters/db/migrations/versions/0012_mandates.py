"""Mandates: bounded authorities granted to one principal, debited in the transaction of the money they allow.

Revision ID: 0012_mandates
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.tables import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Written out, not imported: a migration states the limits it installed, whatever the code says later.
MAX_AMOUNT = 999_999_999_999


def upgrade() -> None:
    op.create_table(
        "mandates",
        sa.Column("id", sa.String(44), primary_key=True),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("allowed_payees", sa.Text),
        sa.Column("max_per_payment", sa.BigInteger, nullable=False),
        sa.Column("max_total", sa.BigInteger, nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("spent", sa.BigInteger, nullable=False),
        sa.Column("period_start", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", UTCDateTime),
        sa.Column("revoked_by", sa.String(200)),
        sa.CheckConstraint("period IN ('once', 'daily', 'monthly')", name="period_known"),
        sa.CheckConstraint(
            f"max_per_payment BETWEEN 1 AND {MAX_AMOUNT} AND max_total BETWEEN 1 AND {MAX_AMOUNT} "
            f"AND spent BETWEEN 0 AND {MAX_AMOUNT} AND (max_per_payment <= max_total AND spent <= max_total)",
            name="within_limits",
        ),
    )
    op.create_index("ix_mandates_principal_id", "mandates", ["principal", "id"])


def downgrade() -> None:
    op.drop_index("ix_mandates_principal_id", "mandates")
    op.drop_table("mandates")
