"""Sanctions screening: list versions, their entries, and every screening with the version it used.

Revision ID: 0017_sanctions
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.tables import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def known(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")", name=f"{column}_known")


def upgrade() -> None:
    op.create_table(
        "sanctions_lists",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("row_count", sa.Integer, nullable=False),
        sa.Column("entry_count", sa.Integer, nullable=False),
        sa.Column("loaded_at", UTCDateTime, nullable=False),
        sa.Column("loaded_by", sa.String(200), nullable=False),
        sa.CheckConstraint("row_count >= 0 AND entry_count >= 0", name="counts_not_negative"),
        sa.UniqueConstraint("sha256", name="uq_sanctions_lists_sha256"),
    )
    op.create_index("ix_sanctions_lists_loaded_at_id", "sanctions_lists", ["loaded_at", "id"])
    op.create_table(
        "sanctions_entries",
        sa.Column("list_id", sa.String(40), sa.ForeignKey("sanctions_lists.id"), primary_key=True),
        sa.Column("ent_num", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("sdn_type", sa.String(40), nullable=False),
        sa.Column("program", sa.String(400), nullable=False),
        sa.Column("aliases", sa.Text, nullable=False),
        sa.Column("countries", sa.Text, nullable=False),
        sa.Column("dobs", sa.Text, nullable=False),
    )
    op.create_table(
        "screenings",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("list_id", sa.String(40), sa.ForeignKey("sanctions_lists.id")),
        sa.Column("list_sha256", sa.String(64), nullable=False),
        sa.Column("party_name", sa.String(400), nullable=False),
        sa.Column("party_type", sa.String(10), nullable=False),
        sa.Column("party_country", sa.String(2)),
        sa.Column("party_born", sa.String(10)),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("matches", sa.Text, nullable=False),
        sa.Column("screened_at", UTCDateTime, nullable=False),
        sa.Column("screened_by", sa.String(200), nullable=False),
        known("decision", ("clear", "review", "block")),
        known("party_type", ("person", "entity")),
    )
    op.create_index("ix_screenings_screened_at_id", "screenings", ["screened_at", "id"])


def downgrade() -> None:
    op.drop_table("screenings")
    op.drop_table("sanctions_entries")
    op.drop_table("sanctions_lists")
