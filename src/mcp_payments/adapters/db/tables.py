"""Table definitions. The Alembic migrations create exactly this schema (a test compares them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from mcp_payments.domain.money import LEDGER_LIMIT, MAX_AMOUNT, MAX_BALANCE
from mcp_payments.domain.payments import PaymentStatus
from mcp_payments.domain.roles import Role
from mcp_payments.domain.subscriptions import Interval, InvoiceStatus, SubscriptionStatus

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both backends (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def within_limits(*columns: tuple[str, int, int], extra: str | None = None) -> CheckConstraint:
    """Money columns inside the ledger's limits (domain/money.py). PostgreSQL has it as this CHECK; SQLite as
    triggers that also refuse a value that is not an integer (migration 0005)."""
    ranges = [f"{name} BETWEEN {low} AND {high}" for name, low, high in columns]
    return CheckConstraint(" AND ".join(ranges + ([f"({extra})"] if extra else [])), name="within_limits")


def amounts(*names: str, low: int = 0) -> list[tuple[str, int, int]]:
    return [(name, low, MAX_AMOUNT) for name in names]


# SQLite only auto-increments an INTEGER PRIMARY KEY.
AutoId = BigInteger().with_variant(Integer(), "sqlite")

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("type", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("allow_overdraft", Boolean, nullable=False),
    Column("posted", BigInteger, nullable=False),
    Column("pending", BigInteger, nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("pending >= 0", name="pending_not_negative"),
    # The second line of defence behind the domain's check: no overdraft, ever.
    CheckConstraint("allow_overdraft OR (posted >= 0 AND posted - pending >= 0)", name="no_overdraft"),
    within_limits(
        ("posted", -LEDGER_LIMIT, LEDGER_LIMIT),
        ("pending", 0, MAX_BALANCE),
        extra=f"allow_overdraft OR posted <= {MAX_BALANCE}",
    ),
    Index(None, "type", "id"),
)

journal_transactions = Table(
    "journal_transactions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(30), nullable=False),
    Column("memo", String(500)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("reference", String(40)),
    Index(None, "reference"),
    Index(None, "created_at"),  # the AML rules' windows (adapters/db/compliance_repo.py activity)
)

entries = Table(
    "entries",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("transaction_id", String(40), ForeignKey("journal_transactions.id"), nullable=False),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    CheckConstraint("amount <> 0", name="amount_not_zero"),
    within_limits(("amount", -LEDGER_LIMIT, LEDGER_LIMIT)),
    Index(None, "account_id", "id"),
    Index(None, "transaction_id"),
)

# One row per cross-currency transfer: the conversion its journal transaction books (domain/fx.py).
fx_conversions = Table(
    "fx_conversions",
    metadata,
    Column("transaction_id", String(40), ForeignKey("journal_transactions.id"), primary_key=True),
    Column("source_wallet_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("target_wallet_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("source_currency", String(3), nullable=False),
    Column("target_currency", String(3), nullable=False),
    Column("rate", String(200), nullable=False),  # exact: "150", "1.08" or "1/150" (domain/fx.py rate_text)
    Column("source_amount", BigInteger, nullable=False),
    Column("source_used", BigInteger, nullable=False),
    Column("residue", BigInteger, nullable=False),
    Column("target_amount", BigInteger, nullable=False),
    CheckConstraint("source_currency <> target_currency", name="two_currencies"),
    CheckConstraint("source_used > 0 AND target_amount > 0 AND residue >= 0", name="amounts_positive"),
    CheckConstraint("source_used + residue = source_amount", name="source_split"),
    within_limits(
        ("source_amount", 1, MAX_AMOUNT),
        ("source_used", 1, MAX_AMOUNT),
        ("residue", 0, MAX_AMOUNT),
        ("target_amount", 1, LEDGER_LIMIT),
    ),
)

holds = Table(
    "holds",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(20), nullable=False),
    Column("captured_amount", BigInteger, nullable=False),
    Column("memo", String(500)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("capture_transaction_id", String(40), ForeignKey("journal_transactions.id")),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("captured_amount >= 0 AND captured_amount <= amount", name="capture_within_hold"),
    CheckConstraint("status IN ('active', 'captured', 'released', 'expired')", name="status_known"),
    within_limits(*amounts("amount", low=1), *amounts("captured_amount")),
    Index(None, "status", "expires_at"),
    Index(None, "account_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal", String(200), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("tool", String(100), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("arguments", Text, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index(None, "expires_at"),
)

# A call appends its record unsealed (seq, prev_hash, hash NULL); the sealer (services/sealing.py) links
# committed records into the chain. Triggers allow no change but that one sealing (migration 0008).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("seq", BigInteger, unique=True),
    Column("at", UTCDateTime, nullable=False),
    Column("principal", String(200), nullable=False),
    Column("tool", String(100), nullable=False),
    Column("record", Text, nullable=False),
    Column("prev_hash", String(64)),
    Column("hash", String(64)),
    CheckConstraint(
        "(seq IS NULL AND prev_hash IS NULL AND hash IS NULL) "
        "OR (seq IS NOT NULL AND prev_hash IS NOT NULL AND hash IS NOT NULL)",
        name="sealed_whole",
    ),
    Index(None, "tool", "id"),
    Index("ix_audit_log_unsealed", "id", postgresql_where=text("seq IS NULL"), sqlite_where=text("seq IS NULL")),
)

# One row: the sealed chain's head. The sealer locks it, so the chain has exactly one order.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

customers = Table(
    "customers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("email", String(320)),
    Column("email_normalized", String(320)),
    Column("name", String(200)),
    Column("name_normalized", String(200)),
    Column("description", String(500)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("country", String(2)),  # ISO 3166-1 alpha-2, for fraud scoring (card country against it)
    Index(None, "email_normalized"),
    Index(None, "name_normalized"),
    # Added by 0019: when erase_customer_data replaced its personal data with a pseudonym (services/erasure.py).
    Column("erased_at", UTCDateTime),
)

PAYMENT_STATUSES = tuple(status.value for status in PaymentStatus)

payments = Table(
    "payments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("customer_id", String(40), ForeignKey("customers.id")),
    Column("status", String(30), nullable=False),
    Column("capture_method", String(10), nullable=False),
    Column("amount_capturable", BigInteger, nullable=False),
    Column("amount_received", BigInteger, nullable=False),
    Column("amount_refunded", BigInteger, nullable=False),
    Column("amount_allocated", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("card_brand", String(20), nullable=False),
    Column("card_last4", String(4), nullable=False),
    Column("card_exp_month", Integer, nullable=False),
    Column("card_exp_year", Integer, nullable=False),
    Column("card_fingerprint", String(64), nullable=False),
    Column("scenario", String(60), nullable=False),
    Column("decline_code", String(40)),
    Column("failure_message", String(500)),
    Column("description", String(500)),
    Column("disputed", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("authorization_expires_at", UTCDateTime),
    Column("canceled_at", UTCDateTime),
    Column("cancellation_reason", String(200)),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("capture_method IN ('automatic', 'manual')", name="capture_method_known"),
    CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in PAYMENT_STATUSES) + ")", name="status_known"),
    CheckConstraint("amount_capturable >= 0 AND amount_capturable <= amount", name="capturable_within_amount"),
    CheckConstraint("amount_received >= 0 AND amount_received <= amount", name="received_within_amount"),
    # The database's own guard that refunds never exceed what was captured.
    CheckConstraint("amount_refunded >= 0 AND amount_refunded <= amount_received", name="refunds_within_received"),
    CheckConstraint("amount_allocated >= 0 AND fee >= 0", name="allocated_and_fee_not_negative"),
    within_limits(
        *amounts("amount", low=1),
        *amounts("amount_capturable", "amount_received", "amount_refunded", "amount_allocated", "fee"),
    ),
    Index(None, "status", "created_at"),
    Index(None, "customer_id", "created_at"),
    Index(None, "created_at", "id"),
    Index(None, "card_fingerprint", "created_at"),  # fraud scoring: a card's recent payments
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("payment_id", String(40), ForeignKey("payments.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(20), nullable=False),
    Column("reason", String(200)),
    Column("failure_reason", String(500)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'canceled')", name="status_known"),
    CheckConstraint(f"amount BETWEEN 1 AND {MAX_AMOUNT}", name="amount_in_range"),
    Index(None, "payment_id"),
)

payment_attempts = Table(
    "payment_attempts",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("payment_id", String(40), ForeignKey("payments.id"), nullable=False),
    Column("action", String(30), nullable=False),
    Column("outcome", String(30), nullable=False),
    Column("decline_code", String(40)),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "payment_id", "id"),
)

payment_events = Table(
    "payment_events",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("payment_id", String(40), ForeignKey("payments.id"), nullable=False),
    Column("type", String(60), nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "payment_id", "id"),
)

# Inbound provider events, deduplicated by the provider's event id.
provider_events = Table(
    "provider_events",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("type", String(60), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("processed_at", UTCDateTime),
    CheckConstraint("status IN ('pending', 'processed', 'ignored')", name="status_known"),
    Index(None, "status", "received_at"),
)

# Events the sandbox provider queued for us (its outbox), written in the transaction of the change that caused
# them; a row is deleted in the transaction that delivers it. `seq` keeps the order they were queued in.
provider_outbox = Table(
    "provider_outbox",
    metadata,
    Column("seq", AutoId, primary_key=True, autoincrement=True),
    Column("event_id", String(100), nullable=False, unique=True),
    Column("type", String(60), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# One row per run of a job by a worker; finished_at stays NULL when the worker died mid-run.
job_runs = Table(
    "job_runs",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("job", String(100), nullable=False),
    Column("worker", String(200), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("done", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("last_error", String(500)),
    CheckConstraint("done >= 0 AND failed >= 0", name="counts_not_negative"),
    Index(None, "job", "id"),
    Index(None, "started_at"),
)

# Items whose handling failed, until handled: claims leave out those parked or waiting for retry_at.
job_failures = Table(
    "job_failures",
    metadata,
    Column("job", String(100), primary_key=True),
    Column("item_id", String(300), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("first_failed_at", UTCDateTime, nullable=False),
    Column("last_failed_at", UTCDateTime, nullable=False),
    Column("retry_at", UTCDateTime),
    Column("parked", Boolean, nullable=False),
    Column("last_error", String(500), nullable=False),
    CheckConstraint("attempts > 0", name="attempts_positive"),
    CheckConstraint("parked OR retry_at IS NOT NULL", name="parked_or_retried"),
    Index(None, "job", "last_failed_at"),
)

ROLES = tuple(role.value for role in Role)

# API keys: the SHA-256 of each secret, never the secret (domain/api_keys.py). A revoked key stays, for the record.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("role", String(20), nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
    CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="role_known"),
    CheckConstraint("expires_at IS NULL OR expires_at > created_at", name="expires_after_creation"),
    CheckConstraint("length(secret_sha256) = 64", name="digest_length"),
)


def _known(column: str, values: tuple[str, ...]) -> CheckConstraint:
    return CheckConstraint(f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")", name=f"{column}_known")


INTERVALS = tuple(i.value for i in Interval)
SUBSCRIPTION_STATUSES = tuple(s.value for s in SubscriptionStatus)
INVOICE_STATUSES = tuple(s.value for s in InvoiceStatus)

# Subscriptions (domain/subscriptions.py). A plan's price never changes once `used`.
plans = Table(
    "plans",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("interval", String(10), nullable=False),
    Column("interval_count", Integer, nullable=False),
    Column("trial_days", Integer, nullable=False),
    Column("used", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("interval_count >= 1 AND interval_count <= 365", name="interval_count_bounded"),
    CheckConstraint("trial_days >= 0 AND trial_days <= 730", name="trial_days_bounded"),
    _known("interval", INTERVALS),
    within_limits(*amounts("amount", low=1)),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False),
    Column("plan_id", String(40), ForeignKey("plans.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("anchor", UTCDateTime, nullable=False),
    Column("period_index", Integer, nullable=False),
    Column("current_period_start", UTCDateTime, nullable=False),
    Column("current_period_end", UTCDateTime, nullable=False),
    Column("trial_end", UTCDateTime),
    Column("card_brand", String(20), nullable=False),
    Column("card_last4", String(4), nullable=False),
    Column("card_exp_month", Integer, nullable=False),
    Column("card_exp_year", Integer, nullable=False),
    Column("card_fingerprint", String(64), nullable=False),
    Column("scenario", String(60), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("canceled_at", UTCDateTime),
    Column("cancel_at_period_end", Boolean, nullable=False),
    _known("status", SUBSCRIPTION_STATUSES),
    CheckConstraint("current_period_end > current_period_start", name="period_not_empty"),
    CheckConstraint("period_index >= -1", name="period_index_from_trial"),
    Index(None, "status", "current_period_end"),
    Index(None, "customer_id", "id"),
    # Added by 0014 (a pause): after the other columns, where ALTER TABLE ADD COLUMN puts them.
    Column("pause_collection", String(20)),
    Column("resumes_at", UTCDateTime),
    Index(None, "status", "resumes_at"),
)

# One invoice per (subscription, period): the unique key is what makes a renewal run at most once.
invoices = Table(
    "invoices",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("subscription_id", String(40), ForeignKey("subscriptions.id"), nullable=False),
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False),
    Column("period_index", Integer, nullable=False),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("payment_id", String(40), ForeignKey("payments.id")),
    Column("last_decline_code", String(40)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime),
    _known("status", INVOICE_STATUSES),
    CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    CheckConstraint("status <> 'paid' OR payment_id IS NOT NULL OR total = 0", name="paid_has_payment"),
    within_limits(*amounts("total")),
    UniqueConstraint("subscription_id", "period_index"),
    Index(None, "customer_id", "id"),
    Index(None, "status", "next_attempt_at"),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("invoice_id", String(40), ForeignKey("invoices.id"), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("description", String(300), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    _known("kind", ("plan", "proration_credit", "proration_debit")),
    within_limits(("amount", -MAX_AMOUNT, MAX_AMOUNT)),
    Index(None, "invoice_id", "id"),
)

# Spending policies (domain/limits.py): one per subject (a principal, or role:<role> for its default) and currency.
# Amounts in minor units of the currency; NULL: no such limit. Payee lists as JSON arrays (NULL: any payee).
POLICY_AMOUNTS = ("max_per_call", "daily", "monthly", "per_payee_daily", "refund_max_per_call", "refund_daily")
spending_policies = Table(
    "spending_policies",
    metadata,
    Column("subject", String(200), primary_key=True),
    Column("currency", String(3), primary_key=True),
    *(Column(name, BigInteger) for name in POLICY_AMOUNTS),
    Column("velocity", Integer),
    Column("approval_above", BigInteger),
    Column("allowed_payees", Text),
    Column("denied_payees", Text, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
    CheckConstraint(
        " AND ".join(f"({n} IS NULL OR {n} BETWEEN 0 AND {MAX_AMOUNT})" for n in (*POLICY_AMOUNTS, "approval_above")),
        name="amounts_in_range",
    ),
    CheckConstraint("velocity IS NULL OR velocity >= 0", name="velocity_not_negative"),
)

# What each counted money call spent or refunded, written in the transaction of the movement it counts: the
# rolling totals are sums over these rows.
spend_records = Table(
    "spend_records",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("principal", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("counts", String(10), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("payee", String(60)),
    Column("tool", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    CheckConstraint("counts IN ('spend', 'refund')", name="counts_known"),
    CheckConstraint(f"amount BETWEEN 1 AND {MAX_AMOUNT}", name="amount_in_range"),
    Index(None, "principal", "currency", "at"),
    Index(None, "at"),  # 0019: the retention job's scan
)

# One row per principal and currency, locked (PostgreSQL) by every counted call before it reads the totals, so
# that two calls of one principal cannot both spend what is left.
spend_locks = Table(
    "spend_locks",
    metadata,
    Column("principal", String(200), primary_key=True),
    Column("currency", String(3), primary_key=True),
)

# Counted money calls held above their caller's approval_above (domain/approvals.py): the stored command, and what
# became of it. An approval runs its command in the transaction that moves it from pending, so it runs once.
approvals = Table(
    "approvals",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tool", String(100), nullable=False),
    Column("principal", String(200), nullable=False),
    Column("role", String(20)),
    Column("credential", String(200)),
    Column("arguments", Text, nullable=False),
    # Both null: the call spends nothing (create_customer held for a sanctions review of the name).
    Column("currency", String(3)),
    Column("amount", BigInteger),
    Column("payee", String(60)),
    Column("threshold", BigInteger, nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("decided_by", String(200)),
    Column("decided_at", UTCDateTime),
    Column("reason", Text),
    Column("error_code", String(100)),
    Column("result", Text),
    Column("decided_via", String(20)),  # 'elicitation': the requester's human answered in the chat
    # Why the call waits: approval_above (its amount), or sanctions_review (a screening of its payee).
    Column("held_for", String(30), nullable=False, server_default="approval_above"),
    CheckConstraint("status IN ('pending', 'executed', 'failed', 'rejected', 'expired')", name="approval_status_known"),
    CheckConstraint(f"amount BETWEEN 1 AND {MAX_AMOUNT}", name="approval_amount_in_range"),
    CheckConstraint("(amount IS NULL) = (currency IS NULL)", name="approval_amount_has_currency"),
    Index(None, "status", "expires_at"),
    Index(None, "principal", "created_at"),
)


# Mandates (domain/mandates.py): a bounded authority granted to one principal. `spent` is what was debited in the
# period that starts at `period_start`; a call citing the mandate locks its row and debits it in the movement's
# own transaction.
MANDATE_PERIODS = ("once", "daily", "monthly")
mandates = Table(
    "mandates",
    metadata,
    Column("id", String(44), primary_key=True),
    Column("principal", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("description", String(500), nullable=False),
    Column("allowed_payees", Text),
    Column("max_per_payment", BigInteger, nullable=False),
    Column("max_total", BigInteger, nullable=False),
    Column("period", String(10), nullable=False),
    Column("spent", BigInteger, nullable=False),
    Column("period_start", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("revoked_by", String(200)),
    _known("period", MANDATE_PERIODS),
    within_limits(
        *amounts("max_per_payment", "max_total", low=1),
        *amounts("spent"),
        extra="max_per_payment <= max_total AND spent <= max_total",
    ),
    Index(None, "principal", "id"),
)


# Proration lines (domain/plan_changes.py) waiting for a subscription's next invoice, which takes them (or
# carries a credit larger than it owes to the invoice after it).
pending_invoice_lines = Table(
    "pending_invoice_lines",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("subscription_id", String(40), ForeignKey("subscriptions.id"), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("description", String(300), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    CheckConstraint("kind IN ('proration_credit', 'proration_debit')", name="kind_known"),
    within_limits(("amount", -MAX_AMOUNT, MAX_AMOUNT)),
    Index(None, "subscription_id", "id"),
)


# The sandbox clock (services/sandbox_clock.py): one row, how far the sandbox's time is ahead of the real time, read
# by every process; `advancing_to` is set while advance_sandbox_clock runs the due work up to that instant.
sandbox_clock = Table(
    "sandbox_clock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("offset_us", BigInteger, nullable=False),
    Column("advancing_to", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("id = 1", name="one_row"),
    CheckConstraint("offset_us >= 0", name="never_behind"),
)


# Analytics (adapters/db/analytics_repo.py) read by time range: refunds and attempts by when they happened, the
# journal's disputes by kind and time (migration 0015).
Index("ix_refunds_created_at", refunds.c.created_at)
Index("ix_payment_attempts_created_at", payment_attempts.c.created_at)
Index("ix_journal_transactions_kind_created_at", journal_transactions.c.kind, journal_transactions.c.created_at)
# One currency over many buckets (migration 0022): without these SQLite scans the currency's rows once per bucket.
Index("ix_payments_currency_created_at", payments.c.currency, payments.c.created_at)
Index("ix_refunds_currency_created_at", refunds.c.currency, refunds.c.created_at)
# list_payments(status=... or customer_id=...) newest first: the page, not all those payments sorted (migration 0022).
Index("ix_payments_status_id", payments.c.status, payments.c.id)
Index("ix_payments_customer_id_id", payments.c.customer_id, payments.c.id)
# Analytics rollups (migration 0025): revenue and authorization attempts summed per bucket of `size` seconds (900,
# 3600, 86400) starting at `bucket` (seconds since the epoch, UTC), and the deltas that triggers append in the
# transaction of every change of a payment, refund, attempt or dispute entry, per quarter hour `at`. A job moves
# deltas into rollups; readers add both (adapters/db/analytics_repo.py, rollups.py).
ROLLUP_MEASURES = (
    "payments_captured",
    "amount_received",
    "fees",
    "payments_refunded",
    "amount_refunded",
    "payments_disputed",
    "refunds",
    "refunds_amount",
    "disputes",
    "disputes_amount",
)


def _rollup_measures() -> list[Column[int]]:
    return [Column(m, BigInteger, nullable=False, server_default="0") for m in ROLLUP_MEASURES]


def _attempt_keys(primary: bool) -> list[Column[Any]]:
    return [
        Column("brand", String(20), nullable=False, primary_key=primary),
        Column("currency", String(3), nullable=False, primary_key=primary),
        Column("outcome", String(30), nullable=False, primary_key=primary),
        Column("decline_code", String(40), nullable=False, primary_key=primary),  # '' for none
    ]


analytics_revenue_deltas = Table(
    "analytics_revenue_deltas",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    *_rollup_measures(),
    Index(None, "at"),
)
analytics_revenue_rollups = Table(
    "analytics_revenue_rollups",
    metadata,
    Column("size", Integer, primary_key=True, autoincrement=False),
    Column("bucket", BigInteger, primary_key=True, autoincrement=False),
    Column("currency", String(3), primary_key=True),
    *_rollup_measures(),
)
analytics_attempt_deltas = Table(
    "analytics_attempt_deltas",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    *_attempt_keys(False),
    Column("n", BigInteger, nullable=False),
    Index(None, "at"),
)
analytics_attempt_rollups = Table(
    "analytics_attempt_rollups",
    metadata,
    Column("size", Integer, primary_key=True, autoincrement=False),
    Column("bucket", BigInteger, primary_key=True, autoincrement=False),
    *_attempt_keys(True),
    Column("n", BigInteger, nullable=False),
)

# Customer insights (migration 0025): whether a customer paid before an instant, one probe per customer.
Index(
    "ix_payments_captured_customer_id_created_at",
    payments.c.customer_id,
    payments.c.created_at,
    postgresql_where=text("amount_received > 0"),
    sqlite_where=text("amount_received > 0"),
)
# Customer insights (migration 0026): per UTC month (`month`, seconds since the epoch), customer and currency, the
# captured payments created in it and their net (captured - refunded, 0 once disputed), kept like the rollups above
# (triggers append deltas, the compaction job folds them in, adapters/db/customer_insights.py reads both); and each
# customer's first payment that captured money, kept by the same triggers.
analytics_customer_deltas = Table(
    "analytics_customer_deltas",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("month", BigInteger, nullable=False),
    Column("customer_id", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("payments", Integer, nullable=False),  # summed as BIGINT by PostgreSQL, not NUMERIC
    Column("net", BigInteger, nullable=False),
    Index(None, "month"),
)
analytics_customer_rollups = Table(
    "analytics_customer_rollups",
    metadata,
    Column("month", BigInteger, primary_key=True, autoincrement=False),
    Column("customer_id", String(40), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("payments", Integer, nullable=False),  # summed as BIGINT by PostgreSQL, not NUMERIC
    Column("net", BigInteger, nullable=False),
)
analytics_customer_firsts = Table(
    "analytics_customer_firsts",
    metadata,
    Column("customer_id", String(40), primary_key=True),
    Column("first_at", UTCDateTime, nullable=False),
    Index(None, "first_at"),
)
# Cohorts (migration 0027): per customer and currency ('' = any currency), the UTC month of the customer's first
# payment that captured money (any currency; `first_month`, seconds since the epoch) and `mask`: bit k set when the
# customer paid in that currency in the k-th month after it (k = 0..62: a range is at most five years, 61 months).
# Rebuilt for the customers a compaction touches (adapters/db/customer_months.py); read by customer_insights.py.
analytics_customer_months = Table(
    "analytics_customer_months",
    metadata,
    Column("customer_id", String(40), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("first_month", BigInteger, nullable=False),
    Column("mask", BigInteger, nullable=False),
    Index(None, "currency", "first_month", "mask"),  # the cohorts count (first_month, mask) from the index alone
)
# How many months rows have each (currency, first_month, mask) (migration 0029): kept by the compaction's rebuild of
# the rows, read instead of grouping them (customer_counts.py). A count of 0 stays.
analytics_customer_month_groups = Table(
    "analytics_customer_month_groups",
    metadata,
    Column("currency", String(3), primary_key=True),
    Column("first_month", BigInteger, primary_key=True, autoincrement=False),
    Column("mask", BigInteger, primary_key=True, autoincrement=False),
    Column("customers", BigInteger, nullable=False),
)
Index("ix_analytics_customer_rollups_customer_id", analytics_customer_rollups.c.customer_id)
Index(  # a currency's best customers of a month (migration 0029)
    "ix_analytics_customer_rollups_month_currency_net",
    analytics_customer_rollups.c.month,
    analytics_customer_rollups.c.currency,
    analytics_customer_rollups.c.net,
)
# Each customer's all-time sums per currency (migration 0028): the customer rollups of every month added up, kept by
# the same compaction (a range covering most of the history is read as these, less the months outside it).
analytics_customer_totals = Table(
    "analytics_customer_totals",
    metadata,
    Column("customer_id", String(40), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("payments", Integer, nullable=False),
    Column("net", BigInteger, nullable=False),
    # A currency's best customers by an index scan; with payments, each currency's sums read from the index alone
    # (SQLite read every row through the index for them: 0.6 s at a million payments).
    Index(None, "currency", "net", "payments"),
)
# Each currency's customer sums per UTC month (migration 0029): the customer rollups of a month added up, kept by
# the same compaction (each currency's net over a range without reading its customers' rows).
analytics_currency_months = Table(
    "analytics_currency_months",
    metadata,
    Column("month", BigInteger, primary_key=True, autoincrement=False),
    Column("currency", String(3), primary_key=True),
    Column("payments", BigInteger, nullable=False),
    Column("net", BigInteger, nullable=False),
)
# Tool call statistics (services/call_stats.py): per minute, tool, outcome and latency bin (domain/latency.py), the
# number of calls, added to by every server process's flush. Purged after 8 days.
tool_call_stats = Table(
    "tool_call_stats",
    metadata,
    Column("minute", UTCDateTime, primary_key=True),
    Column("tool", String(100), primary_key=True),
    Column("outcome", String(60), primary_key=True),
    Column("bin", Integer, primary_key=True, autoincrement=False),
    Column("calls", BigInteger, nullable=False),
    CheckConstraint("calls > 0", name="calls_positive"),
)

# Monitoring marks: the last run of something worth watching, one row per name (the ledger check: when it ran and
# whether the ledger was sound).
monitoring_marks = Table(
    "monitoring_marks",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("detail", String(500)),
)


# Sanctions lists (domain/sanctions.py): every load is a version, kept whole and never changed; the newest is the
# one screenings use. A screening names the version it used (list_id; NULL: the synthetic list the package ships,
# whose hash is list_sha256).
sanctions_lists = Table(
    "sanctions_lists",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("row_count", Integer, nullable=False),
    Column("entry_count", Integer, nullable=False),
    Column("loaded_at", UTCDateTime, nullable=False),
    Column("loaded_by", String(200), nullable=False),
    CheckConstraint("row_count >= 0 AND entry_count >= 0", name="counts_not_negative"),
    Index(None, "loaded_at", "id"),
)

# One row per list entry; its aliases, address countries and dates of birth as JSON arrays.
sanctions_entries = Table(
    "sanctions_entries",
    metadata,
    Column("list_id", String(40), ForeignKey("sanctions_lists.id"), primary_key=True),
    Column("ent_num", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(400), nullable=False),
    Column("sdn_type", String(40), nullable=False),
    Column("program", String(400), nullable=False),
    Column("aliases", Text, nullable=False),
    Column("countries", Text, nullable=False),
    Column("dobs", Text, nullable=False),
)

# Every screening and its decision. The party's name and date of birth are personal data: not in any audit record.
screenings = Table(
    "screenings",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("list_id", String(40), ForeignKey("sanctions_lists.id")),
    Column("list_sha256", String(64), nullable=False),
    Column("party_name", String(400), nullable=False),
    Column("party_type", String(10), nullable=False),
    Column("party_country", String(2)),
    Column("party_born", String(10)),
    Column("decision", String(10), nullable=False),
    Column("matches", Text, nullable=False),
    Column("screened_at", UTCDateTime, nullable=False),
    Column("screened_by", String(200), nullable=False),
    _known("decision", ("clear", "review", "block")),
    _known("party_type", ("person", "entity")),
    Index(None, "screened_at", "id"),
)


# Outbound webhooks. An endpoint's secrets are kept sealed (adapters/secret_box.py): they must sign, so they cannot
# be hashed, and the key that opens them is not in the database.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(44), primary_key=True),
    Column("url", String(2048), nullable=False),
    Column("event_types", Text, nullable=False),  # a JSON list
    Column("description", String(200)),
    Column("secret", Text, nullable=False),
    Column("previous_secret", Text),  # still signs until previous_until (a rotation's grace period)
    Column("previous_until", UTCDateTime),
    Column("status", String(10), nullable=False),
    Column("disabled_reason", String(200)),
    Column("failing_since", UTCDateTime),  # the first of the failures since its last success
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("status IN ('enabled', 'disabled', 'deleted')", name="status_known"),
)

# What happened, as it is sent: written in the transaction of the change it reports (the outbox), when at least
# one endpoint listens for it.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", String(44), primary_key=True),  # the webhook-id header, the same on every attempt
    Column("type", String(60), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# One event to one endpoint: due at next_attempt_at while pending.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(44), primary_key=True),
    Column("event_id", String(44), ForeignKey("webhook_events.id"), nullable=False),
    Column("endpoint_id", String(44), ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime),
    Column("last_attempt_at", UTCDateTime),
    Column("last_status_code", Integer),
    Column("last_error", String(300)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("status IN ('pending', 'delivered', 'failed', 'canceled')", name="status_known"),
    CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    Index(None, "status", "next_attempt_at"),
    Index(None, "endpoint_id", "created_at"),
    Index(None, "status", "updated_at"),  # 0019: the retention job's scan
)


# Compliance flags (domain/compliance_flags.py): raised by an AML rule or a screening in the transaction of the call
# that triggered it, one per `key`. Ids only: no personal data, so an erasure leaves the flags as they are.
compliance_flags = Table(
    "compliance_flags",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("rule", String(30), nullable=False),
    Column("status", String(10), nullable=False),
    Column("subject", String(60), nullable=False),
    Column("key", String(200), nullable=False, unique=True),
    Column("summary", String(500), nullable=False),
    Column("principal", String(200), nullable=False),
    Column("transaction_ids", Text, nullable=False),  # a JSON list
    Column("details", Text, nullable=False),  # a JSON object
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_by", String(200)),
    Column("resolved_at", UTCDateTime),
    Column("disposition", String(20)),
    Column("note", String(1000)),
    _known("status", ("open", "resolved")),
    CheckConstraint(
        "(status = 'open') = (resolved_by IS NULL AND resolved_at IS NULL AND disposition IS NULL)",
        name="resolution_complete",
    ),
    Index(None, "status", "id"),
    Index(None, "created_at"),
)

# Payees money went to after a screening let it through (clear, or review then approved): a payee not here is new,
# and is screened before money leaves to it (services/counterparties.py).
known_payees = Table(
    "known_payees",
    metadata,
    Column("payee", String(60), primary_key=True),
    Column("screening_id", String(40), nullable=False),
    Column("first_paid_at", UTCDateTime, nullable=False),
)


# Fraud scores (domain/risk.py), one per create_payment: with the payment it allowed, the approval that holds it
# (review), or neither (block: no payment was made). Blocked and held ones are the fraud alerts.
risk_assessments = Table(
    "risk_assessments",
    metadata,
    Column("id", String(44), primary_key=True),
    Column("decision", String(10), nullable=False),
    Column("score", Integer, nullable=False),
    Column("reasons", Text, nullable=False),  # JSON: [{rule, points, text}]
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("card_fingerprint", String(64), nullable=False),  # the keyed HMAC, never the number
    Column("card_last4", String(4), nullable=False),
    Column("customer_id", String(40)),
    Column("principal", String(200)),
    Column("payment_id", String(40)),
    Column("approval_id", String(40)),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("decision IN ('allow', 'review', 'block')", name="decision_known"),
    CheckConstraint("score BETWEEN 0 AND 100", name="score_in_range"),
    CheckConstraint(f"amount BETWEEN 1 AND {MAX_AMOUNT}", name="amount_in_range"),
    Index(None, "payment_id"),
    Index(None, "decision", "id"),
    Index(None, "card_fingerprint", "decision", "created_at"),  # a card's recent held and refused attempts
)
