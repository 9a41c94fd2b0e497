"""Spending controls: policies per principal (or role default) and currency, the spend they count, and a lock row
per principal and currency.

Revision ID: 0009
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.tables import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Written out, not imported: a migration states the schema of its day.
MAX_AMOUNT = 999_999_999_999
AMOUNTS = ("max_per_call", "daily", "monthly", "per_payee_daily", "refund_max_per_call", "refund_daily")


def upgrade() -> None:
    op.create_table(
        "spending_policies",
        sa.Column("subject", sa.String(200), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        *(sa.Column(name, sa.BigInteger) for name in AMOUNTS),
        sa.Column("velocity", sa.Integer),
        sa.Column("approval_above", sa.BigInteger),
        sa.Column("allowed_payees", sa.Text),
        sa.Column("denied_payees", sa.Text, nullable=False),
        sa.Column("expires_at", UTCDateTime),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.CheckConstraint(
            " AND ".join(f"({n} IS NULL OR {n} BETWEEN 0 AND {MAX_AMOUNT})" for n in (*AMOUNTS, "approval_above")),
            name="amounts_in_range",
        ),
        sa.CheckConstraint("velocity IS NULL OR velocity >= 0", name="velocity_not_negative"),
    )
    op.create_table(
        "spend_records",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("counts", sa.String(10), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("payee", sa.String(60)),
        sa.Column("tool", sa.String(100), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.CheckConstraint("counts IN ('spend', 'refund')", name="counts_known"),
        sa.CheckConstraint(f"amount BETWEEN 1 AND {MAX_AMOUNT}", name="amount_in_range"),
    )
    op.create_index("ix_spend_records_principal_currency_at", "spend_records", ["principal", "currency", "at"])
    op.create_table(
        "spend_locks",
        sa.Column("principal", sa.String(200), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("spend_locks")
    op.drop_index("ix_spend_records_principal_currency_at", "spend_records")
    op.drop_table("spend_records")
    op.drop_table("spending_policies")
