"""Cohorts from one row of months per customer and currency: the month of the first payment and a bit per month
after it the customer paid in (adapters/db/customer_months.py).

The cohorts of get_customer_insights grouped the customer rollups of their range by (month, customer) and joined
each customer's first payment (1.8 s at a million payments on PostgreSQL for 12 months); they now count customers
by (first month, mask) from the index on (currency, first_month, mask), and read the exact way only the customers a
mask cannot answer for (deltas waiting, payments or a first payment in the stretches at a range's ends).

Kept by the compaction, not by triggers: it rebuilds the rows of the customers whose deltas it folds in, in the same
transaction; the index on the rollups' customer_id makes that a few probes. Built here from the rollups and first
payments of 0026 (deltas still waiting are the compaction's to fold in, and mark their customers for the readers).

Revision ID: 0027
Revises: 0026
"""

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.customer_months import MONTHS, ROLLUPS, rebuild

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        MONTHS,
        sa.Column("customer_id", sa.String(40), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("first_month", sa.BigInteger, nullable=False),
        sa.Column("mask", sa.BigInteger, nullable=False),
    )
    op.create_index(f"ix_{MONTHS}_currency_first_month_mask", MONTHS, ["currency", "first_month", "mask"])
    op.create_index(f"ix_{ROLLUPS}_customer_id", ROLLUPS, ["customer_id"])
    for statement in rebuild(pg, None, groups=False):  # the group counts come with 0029
        op.execute(statement)
    if pg:  # the planner's statistics, before the first read
        op.execute(f"ANALYZE {MONTHS}, {ROLLUPS}")


def downgrade() -> None:
    op.drop_index(f"ix_{ROLLUPS}_customer_id", ROLLUPS)
    op.drop_table(MONTHS)
