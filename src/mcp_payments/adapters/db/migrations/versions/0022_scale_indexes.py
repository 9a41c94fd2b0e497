"""Payments and refunds by currency and time (analytics); payments by status and by customer in id order
(list_payments).

Asked for one currency over many buckets (forecast_revenue's 365 days, get_revenue_summary by day), SQLite, which
keeps no statistics, built an automatic index on currency and scanned the currency's every row once per bucket:
13.7 s for a year of USD days over 100,000 demo payments, 0.11 s with these (docs/benchmarks.md).
list_payments(status=...) pages newest id first: through (status, created_at) SQLite read and sorted every payment
in that status (0.53 s for `succeeded` at 100,000), through (status, id) it reads the page (0.01 s); the same for
a customer's payments (customer_id, id): 5.2 ms for the busiest customer at 100,000, 0.06 ms with it.

Revision ID: 0022
Revises: 0021
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_payments_currency_created_at", "payments", ["currency", "created_at"])
    op.create_index("ix_refunds_currency_created_at", "refunds", ["currency", "created_at"])
    op.create_index("ix_payments_status_id", "payments", ["status", "id"])
    op.create_index("ix_payments_customer_id_id", "payments", ["customer_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_payments_customer_id_id", "payments")
    op.drop_index("ix_payments_status_id", "payments")
    op.drop_index("ix_refunds_currency_created_at", "refunds")
    op.drop_index("ix_payments_currency_created_at", "payments")
