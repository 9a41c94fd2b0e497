"""Subscriptions: plans, subscriptions, invoices (one per subscription and period) and their lines.

Revision ID: 0010
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.tables import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Written out, not imported: a migration states the limits it installed, whatever the code says later.
MAX_AMOUNT = 999_999_999_999


def known(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")", name=f"{column}_known")


def card_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("card_brand", sa.String(20), nullable=False),
        sa.Column("card_last4", sa.String(4), nullable=False),
        sa.Column("card_exp_month", sa.Integer, nullable=False),
        sa.Column("card_exp_year", sa.Integer, nullable=False),
        sa.Column("card_fingerprint", sa.String(64), nullable=False),
        sa.Column("scenario", sa.String(60), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("interval", sa.String(10), nullable=False),
        sa.Column("interval_count", sa.Integer, nullable=False),
        sa.Column("trial_days", sa.Integer, nullable=False),
        sa.Column("used", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("interval_count >= 1 AND interval_count <= 365", name="interval_count_bounded"),
        sa.CheckConstraint("trial_days >= 0 AND trial_days <= 730", name="trial_days_bounded"),
        known("interval", ("day", "week", "month", "year")),
        sa.CheckConstraint(f"amount BETWEEN 1 AND {MAX_AMOUNT}", name="within_limits"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("plan_id", sa.String(40), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("anchor", UTCDateTime, nullable=False),
        sa.Column("period_index", sa.Integer, nullable=False),
        sa.Column("current_period_start", UTCDateTime, nullable=False),
        sa.Column("current_period_end", UTCDateTime, nullable=False),
        sa.Column("trial_end", UTCDateTime),
        *card_columns(),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("canceled_at", UTCDateTime),
        sa.Column("cancel_at_period_end", sa.Boolean, nullable=False),
        known(
            "status",
            ("trialing", "active", "past_due", "unpaid", "canceled", "paused", "incomplete", "incomplete_expired"),
        ),
        sa.CheckConstraint("current_period_end > current_period_start", name="period_not_empty"),
        sa.CheckConstraint("period_index >= -1", name="period_index_from_trial"),
    )
    op.create_index("ix_subscriptions_status_current_period_end", "subscriptions", ["status", "current_period_end"])
    op.create_index("ix_subscriptions_customer_id_id", "subscriptions", ["customer_id", "id"])
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("subscription_id", sa.String(40), sa.ForeignKey("subscriptions.id"), nullable=False),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("period_index", sa.Integer, nullable=False),
        sa.Column("period_start", UTCDateTime, nullable=False),
        sa.Column("period_end", UTCDateTime, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("payment_id", sa.String(40), sa.ForeignKey("payments.id")),
        sa.Column("last_decline_code", sa.String(40)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime),
        known("status", ("draft", "open", "paid", "void", "uncollectible")),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.CheckConstraint("status <> 'paid' OR payment_id IS NOT NULL OR total = 0", name="paid_has_payment"),
        sa.CheckConstraint(f"total BETWEEN 0 AND {MAX_AMOUNT}", name="within_limits"),
        # One invoice per (subscription, period): what makes a renewal happen at most once.
        sa.UniqueConstraint("subscription_id", "period_index", name="uq_invoices_subscription_id_period_index"),
    )
    op.create_index("ix_invoices_customer_id_id", "invoices", ["customer_id", "id"])
    op.create_index("ix_invoices_status_next_attempt_at", "invoices", ["status", "next_attempt_at"])
    op.create_table(
        "invoice_lines",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("invoice_id", sa.String(40), sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("description", sa.String(300), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("period_start", UTCDateTime, nullable=False),
        sa.Column("period_end", UTCDateTime, nullable=False),
        known("kind", ("plan", "proration_credit", "proration_debit")),
        sa.CheckConstraint(f"amount BETWEEN {-MAX_AMOUNT} AND {MAX_AMOUNT}", name="within_limits"),
    )
    op.create_index("ix_invoice_lines_invoice_id_id", "invoice_lines", ["invoice_id", "id"])


def downgrade() -> None:
    op.drop_table("invoice_lines")
    op.drop_table("invoices")
    op.drop_table("subscriptions")
    op.drop_table("plans")
