"""Monitoring: tool call statistics per minute and latency bin, and marks of the last ledger check.

tool_call_stats: calls per (minute, tool, outcome, latency bin), added to by each server process's flush
(services/call_stats.py); the primary key starts with the minute, which the window queries and the purge use.
monitoring_marks: one row per thing watched (the last ledger check: when, and whether the ledger was sound).

Revision ID: 0016_tool_metrics
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.tables import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tool_call_stats",
        sa.Column("minute", UTCDateTime, primary_key=True),
        sa.Column("tool", sa.String(100), primary_key=True),
        sa.Column("outcome", sa.String(60), primary_key=True),
        sa.Column("bin", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("calls", sa.BigInteger, nullable=False),
        sa.CheckConstraint("calls > 0", name="calls_positive"),
    )
    op.create_table(
        "monitoring_marks",
        sa.Column("name", sa.String(60), primary_key=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("detail", sa.String(500)),
    )


def downgrade() -> None:
    op.drop_table("monitoring_marks")
    op.drop_table("tool_call_stats")
