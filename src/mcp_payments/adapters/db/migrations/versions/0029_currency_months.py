"""Each currency's customer sums per UTC month: the customer rollups (0026) of a month added up over its customers.

get_customer_insights reports each currency's net over any range. Summed from the customer rollups, half the
history is 400,000 rows (0.5 s on SQLite at a million payments); from these it is a dozen rows a currency
(adapters/db/customer_counts.py). And an index on the customer rollups' (month, currency, net): a currency's best
customers of a month in index order, to bound the best of a short range (adapters/db/customer_best.py). And the
number of customers months rows (0027) of each (currency, first month, mask), kept by the compaction's rebuild of
the rows (adapters/db/customer_months.py).

Kept by the compaction (adapters/db/rollups.py) from the same deltas as the customer rollups and totals, in the same
statement or transaction: these always equal the customer rollups summed. No trigger of their own. Filled here from
the customer rollups (the deltas waiting now stay deltas).

Revision ID: 0029
Revises: 0028
"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

CURRENCY_MONTHS, ROLLUPS = "analytics_currency_months", "analytics_customer_rollups"
GROUPS, MONTHS = "analytics_customer_month_groups", "analytics_customer_months"


def upgrade() -> None:
    op.create_table(
        CURRENCY_MONTHS,
        sa.Column("month", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("payments", sa.BigInteger, nullable=False),
        sa.Column("net", sa.BigInteger, nullable=False),
    )
    # A currency's best customers of a month, from an index (adapters/db/customer_best.py).
    op.create_index(f"ix_{ROLLUPS}_month_currency_net", ROLLUPS, ["month", "currency", "net"])
    op.execute(
        f"INSERT INTO {CURRENCY_MONTHS} (month, currency, payments, net) "
        f"SELECT month, currency, sum(payments), sum(net) FROM {ROLLUPS} GROUP BY month, currency"
    )

    # How many months rows have each (currency, first_month, mask): the counts of get_customer_insights read
    # these 16,000 rows instead of grouping 450,000 months rows (0.1 s) on every call. Kept with the rows.
    op.create_table(
        GROUPS,
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("first_month", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("mask", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("customers", sa.BigInteger, nullable=False),
    )
    op.execute(
        f"INSERT INTO {GROUPS} (currency, first_month, mask, customers) "
        f"SELECT currency, first_month, mask, count(*) FROM {MONTHS} GROUP BY currency, first_month, mask"
    )


def downgrade() -> None:
    op.drop_table(GROUPS)
    op.drop_index(f"ix_{ROLLUPS}_month_currency_net", ROLLUPS)
    op.drop_table(CURRENCY_MONTHS)
