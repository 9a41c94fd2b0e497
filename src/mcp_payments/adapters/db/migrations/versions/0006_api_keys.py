"""api_keys: API keys for HTTP callers and MCP_PAYMENTS_API_KEY, stored as the SHA-256 of their secret.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Written out, not imported: a migration states the roles it allowed, whatever the code says later.
ROLES = ("viewer", "agent", "operator", "admin")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime),
        sa.Column("revoked_at", UTCDateTime),
        sa.Column("last_used_at", UTCDateTime),
        sa.CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="role_known"),
        sa.CheckConstraint("expires_at IS NULL OR expires_at > created_at", name="expires_after_creation"),
        sa.CheckConstraint("length(secret_sha256) = 64", name="digest_length"),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
