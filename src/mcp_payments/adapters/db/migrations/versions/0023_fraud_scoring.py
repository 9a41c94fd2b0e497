"""Fraud scoring: every create_payment's risk score with its reasons; a customer's country; a card's recent
payments found by its fingerprint. A call held in the review band says so in approvals.held_for (risk_review), the
column 0021 added.

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.tables import UTCDateTime
from mcp_payments.domain.money import MAX_AMOUNT

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_assessments",
        sa.Column("id", sa.String(44), primary_key=True),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("card_fingerprint", sa.String(64), nullable=False),
        sa.Column("card_last4", sa.String(4), nullable=False),
        sa.Column("customer_id", sa.String(40)),
        sa.Column("principal", sa.String(200)),
        sa.Column("payment_id", sa.String(40)),
        sa.Column("approval_id", sa.String(40)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("decision IN ('allow', 'review', 'block')", name="decision_known"),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name="score_in_range"),
        sa.CheckConstraint(f"amount BETWEEN 1 AND {MAX_AMOUNT}", name="amount_in_range"),
    )
    op.create_index("ix_risk_assessments_payment_id", "risk_assessments", ["payment_id"])
    op.create_index("ix_risk_assessments_decision_id", "risk_assessments", ["decision", "id"])
    op.create_index(
        "ix_risk_assessments_card_fingerprint_decision_created_at",
        "risk_assessments",
        ["card_fingerprint", "decision", "created_at"],
    )
    op.create_index("ix_payments_card_fingerprint_created_at", "payments", ["card_fingerprint", "created_at"])
    op.add_column("customers", sa.Column("country", sa.String(2)))


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("country")
    op.drop_index("ix_payments_card_fingerprint_created_at", table_name="payments")
    op.drop_table("risk_assessments")
