"""Background jobs: the record of each run, the items whose handling fails, and the sandbox's outbox.

job_runs: one row per run of a job by a worker (finished_at stays NULL when its process died).
job_failures: an item that failed, until it is handled: retried at retry_at, or parked.
provider_outbox: events the sandbox provider queued, written in the transaction that caused them
(they lived in process memory before this revision; a restart lost them).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "provider_outbox",
        sa.Column("seq", AutoId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("event_id", name="uq_provider_outbox_event_id"),
    )
    op.create_table(
        "job_runs",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("job", sa.String(100), nullable=False),
        sa.Column("worker", sa.String(200), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("done", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(500)),
        sa.CheckConstraint("done >= 0 AND failed >= 0", name="counts_not_negative"),
    )
    op.create_index("ix_job_runs_job_id", "job_runs", ["job", "id"])
    op.create_index("ix_job_runs_started_at", "job_runs", ["started_at"])
    op.create_table(
        "job_failures",
        sa.Column("job", sa.String(100), primary_key=True),
        sa.Column("item_id", sa.String(300), primary_key=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("first_failed_at", UTCDateTime, nullable=False),
        sa.Column("last_failed_at", UTCDateTime, nullable=False),
        sa.Column("retry_at", UTCDateTime),
        sa.Column("parked", sa.Boolean, nullable=False),
        sa.Column("last_error", sa.String(500), nullable=False),
        sa.CheckConstraint("attempts > 0", name="attempts_positive"),
        sa.CheckConstraint("parked OR retry_at IS NOT NULL", name="parked_or_retried"),
    )
    op.create_index("ix_job_failures_job_last_failed_at", "job_failures", ["job", "last_failed_at"])


def downgrade() -> None:
    op.drop_table("job_failures")
    op.drop_table("job_runs")
    op.drop_table("provider_outbox")
