"""The sandbox clock: one row holding how far the sandbox's time is ahead of the real time, for every process.

Revision ID: 0013_sandbox_clock
Revises: 0010
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.tables import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "sandbox_clock",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("offset_us", sa.BigInteger, nullable=False),
        sa.Column("advancing_to", UTCDateTime),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("id = 1", name="one_row"),
        sa.CheckConstraint("offset_us >= 0", name="never_behind"),
    )
    op.bulk_insert(table, [{"id": 1, "offset_us": 0, "advancing_to": None, "updated_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("sandbox_clock")
