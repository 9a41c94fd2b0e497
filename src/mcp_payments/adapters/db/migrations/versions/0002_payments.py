"""Customers, payments, refunds, their attempts and events, and inbound provider events.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
APPEND_ONLY = ("payment_events", "payment_attempts")
STATUSES = (
    "'requires_payment_method', 'requires_confirmation', 'requires_action', 'processing', "
    "'requires_capture', 'succeeded', 'canceled'"
)


def upgrade() -> None:
    op.add_column("journal_transactions", sa.Column("reference", sa.String(40)))
    op.create_index("ix_journal_transactions_reference", "journal_transactions", ["reference"])
    op.create_table(
        "customers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("email", sa.String(320)),
        sa.Column("email_normalized", sa.String(320)),
        sa.Column("name", sa.String(200)),
        sa.Column("name_normalized", sa.String(200)),
        sa.Column("description", sa.String(500)),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_customers_email_normalized", "customers", ["email_normalized"])
    op.create_index("ix_customers_name_normalized", "customers", ["name_normalized"])
    op.create_table(
        "payments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id")),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("capture_method", sa.String(10), nullable=False),
        sa.Column("amount_capturable", sa.BigInteger, nullable=False),
        sa.Column("amount_received", sa.BigInteger, nullable=False),
        sa.Column("amount_refunded", sa.BigInteger, nullable=False),
        sa.Column("amount_allocated", sa.BigInteger, nullable=False),
        sa.Column("fee", sa.BigInteger, nullable=False),
        sa.Column("card_brand", sa.String(20), nullable=False),
        sa.Column("card_last4", sa.String(4), nullable=False),
        sa.Column("card_exp_month", sa.Integer, nullable=False),
        sa.Column("card_exp_year", sa.Integer, nullable=False),
        sa.Column("card_fingerprint", sa.String(64), nullable=False),
        sa.Column("scenario", sa.String(60), nullable=False),
        sa.Column("decline_code", sa.String(40)),
        sa.Column("failure_message", sa.String(500)),
        sa.Column("description", sa.String(500)),
        sa.Column("disputed", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("authorization_expires_at", UTCDateTime),
        sa.Column("canceled_at", UTCDateTime),
        sa.Column("cancellation_reason", sa.String(200)),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("capture_method IN ('automatic', 'manual')", name="capture_method_known"),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="status_known"),
        sa.CheckConstraint("amount_capturable >= 0 AND amount_capturable <= amount", name="capturable_within_amount"),
        sa.CheckConstraint("amount_received >= 0 AND amount_received <= amount", name="received_within_amount"),
        sa.CheckConstraint(
            "amount_refunded >= 0 AND amount_refunded <= amount_received", name="refunds_within_received"
        ),
        sa.CheckConstraint("amount_allocated >= 0 AND fee >= 0", name="allocated_and_fee_not_negative"),
    )
    op.create_index("ix_payments_status_created_at", "payments", ["status", "created_at"])
    op.create_index("ix_payments_customer_id_created_at", "payments", ["customer_id", "created_at"])
    op.create_index("ix_payments_created_at_id", "payments", ["created_at", "id"])
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("payment_id", sa.String(40), sa.ForeignKey("payments.id"), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(200)),
        sa.Column("failure_reason", sa.String(500)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'canceled')", name="status_known"),
    )
    op.create_index("ix_refunds_payment_id", "refunds", ["payment_id"])
    op.create_table(
        "payment_attempts",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("payment_id", sa.String(40), sa.ForeignKey("payments.id"), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("outcome", sa.String(30), nullable=False),
        sa.Column("decline_code", sa.String(40)),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_payment_attempts_payment_id_id", "payment_attempts", ["payment_id", "id"])
    op.create_table(
        "payment_events",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("payment_id", sa.String(40), sa.ForeignKey("payments.id"), nullable=False),
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_payment_events_payment_id_id", "payment_events", ["payment_id", "id"])
    op.create_table(
        "provider_events",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("processed_at", UTCDateTime),
        sa.CheckConstraint("status IN ('pending', 'processed', 'ignored')", name="status_known"),
    )
    op.create_index("ix_provider_events_status_received_at", "provider_events", ["status", "received_at"])
    _append_only()


def _append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION forbid_change()"
            )
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    for table in ("provider_events", "payment_events", "payment_attempts", "refunds", "payments", "customers"):
        op.drop_table(table)
    op.drop_index("ix_journal_transactions_reference", "journal_transactions")
    op.drop_column("journal_transactions", "reference")
