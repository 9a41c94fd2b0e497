"""Each customer's all-time sums per currency: the customer rollups (0026) of every month added up.

get_customer_insights over a range covering most of the history grouped half a million monthly rows by customer
(1.0 to 1.6 s at a million payments on PostgreSQL). Read instead as these totals, less the few months outside the
range (adapters/db/customer_totals.py), a currency's best customers come from the (currency, net) index.

Kept by the compaction (adapters/db/rollups.py), which folds the same deltas into the monthly rollups and into these
in one statement or transaction: the totals always equal the monthly rollups summed, and the waiting deltas are read
beside both. No trigger of their own. Filled here from the monthly rollups (the deltas waiting now stay deltas).

Revision ID: 0028
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

TOTALS, ROLLUPS = "analytics_customer_totals", "analytics_customer_rollups"


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        TOTALS,
        sa.Column("customer_id", sa.String(40), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("payments", sa.Integer, nullable=False),
        sa.Column("net", sa.BigInteger, nullable=False),
    )
    op.execute(
        f"INSERT INTO {TOTALS} (customer_id, currency, payments, net) "
        f"SELECT customer_id, currency, sum(payments), sum(net) FROM {ROLLUPS} GROUP BY customer_id, currency"
    )
    # After the backfill: one sort, not an index kept up row by row.
    # (currency, net): a currency's best customers by an index scan; payments: its sums from the index alone.
    op.create_index(f"ix_{TOTALS}_currency_net_payments", TOTALS, ["currency", "net", "payments"])
    if pg:  # the planner's statistics, before the first read
        op.execute(f"ANALYZE {TOTALS}")


def downgrade() -> None:
    op.drop_table(TOTALS)
