"""fx_conversions: what each cross-currency transfer converted, at which exact rate, and its rounding residue.

Append-only like the journal it describes. Transfers booked before this revision have no record
(their rate was not kept), so the integrity check's FX positions start here.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE = "fx_conversions"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("transaction_id", sa.String(40), sa.ForeignKey("journal_transactions.id"), primary_key=True),
        sa.Column("source_wallet_id", sa.String(40), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("target_wallet_id", sa.String(40), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("source_currency", sa.String(3), nullable=False),
        sa.Column("target_currency", sa.String(3), nullable=False),
        sa.Column("rate", sa.String(200), nullable=False),
        sa.Column("source_amount", sa.BigInteger, nullable=False),
        sa.Column("source_used", sa.BigInteger, nullable=False),
        sa.Column("residue", sa.BigInteger, nullable=False),
        sa.Column("target_amount", sa.BigInteger, nullable=False),
        sa.CheckConstraint("source_currency <> target_currency", name="two_currencies"),
        sa.CheckConstraint("source_used > 0 AND target_amount > 0 AND residue >= 0", name="amounts_positive"),
        sa.CheckConstraint("source_used + residue = source_amount", name="source_split"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION forbid_change()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_{action.lower()} BEFORE {action} ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only'); END"
        )


def downgrade() -> None:
    op.drop_table(TABLE)
