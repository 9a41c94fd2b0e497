"""Approvals: counted money calls held above approval_above, with the command to run and what became of it.

Revision ID: 0011_approvals
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.tables import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Written out, not imported: a migration states the limits it installed, whatever the code says later.
MAX_AMOUNT = 999_999_999_999


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tool", sa.String(100), nullable=False),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20)),
        sa.Column("credential", sa.String(200)),
        sa.Column("arguments", sa.Text, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("payee", sa.String(60)),
        sa.Column("threshold", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", UTCDateTime),
        sa.Column("reason", sa.Text),
        sa.Column("error_code", sa.String(100)),
        sa.Column("result", sa.Text),
        sa.CheckConstraint(
            "status IN ('pending', 'executed', 'failed', 'rejected', 'expired')", name="approval_status_known"
        ),
        sa.CheckConstraint(f"amount BETWEEN 1 AND {MAX_AMOUNT}", name="approval_amount_in_range"),
    )
    op.create_index("ix_approvals_status_expires_at", "approvals", ["status", "expires_at"])
    op.create_index("ix_approvals_principal_created_at", "approvals", ["principal", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_approvals_principal_created_at", "approvals")
    op.drop_index("ix_approvals_status_expires_at", "approvals")
    op.drop_table("approvals")
