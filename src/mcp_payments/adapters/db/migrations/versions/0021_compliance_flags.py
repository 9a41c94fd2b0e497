"""AML monitoring: compliance flags, the payees money went to after a screening, and why an approval waits.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.tables import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compliance_flags",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("rule", sa.String(30), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("subject", sa.String(60), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("transaction_ids", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("resolved_by", sa.String(200)),
        sa.Column("resolved_at", UTCDateTime),
        sa.Column("disposition", sa.String(20)),
        sa.Column("note", sa.String(1000)),
        sa.CheckConstraint("status IN ('open', 'resolved')", name="status_known"),
        sa.CheckConstraint(
            "(status = 'open') = (resolved_by IS NULL AND resolved_at IS NULL AND disposition IS NULL)",
            name="resolution_complete",
        ),
        sa.UniqueConstraint("key", name="uq_compliance_flags_key"),
    )
    op.create_index("ix_compliance_flags_status_id", "compliance_flags", ["status", "id"])
    op.create_index("ix_compliance_flags_created_at", "compliance_flags", ["created_at"])
    op.create_table(
        "known_payees",
        sa.Column("payee", sa.String(60), primary_key=True),
        sa.Column("screening_id", sa.String(40), nullable=False),
        sa.Column("first_paid_at", UTCDateTime, nullable=False),
    )
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("held_for", sa.String(30), nullable=False, server_default="approval_above"))


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("held_for")
    op.drop_table("known_payees")
    op.drop_table("compliance_flags")
