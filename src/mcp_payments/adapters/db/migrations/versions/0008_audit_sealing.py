"""audit_log: records are appended unsealed (no shared lock) and sealed into the chain by a job.

A record gets an id (aud_<ULID>) when it is written; seq, prev_hash and hash stay NULL until the sealer
links it into the chain. Records sealed before this revision keep their seq and hashes and get the id
aud_<seq on 26 digits>, which sorts before every ULID. The append-only triggers now allow one change:
sealing a record once (seq, prev_hash and hash set from NULL, nothing else touched). Receipts stored in
idempotency keys ({audit_seq, audit_hash}) become the new receipts ({audit_id, record_hash}).

Revision ID: 0008
Revises: 0007
"""

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from mcp_payments.adapters.db.tables import UTCDateTime
from mcp_payments.domain.audit import canonical_json

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_COLUMNS = "at, principal, tool, record, prev_hash, hash"
_PG_SEAL_ONLY = """
CREATE FUNCTION audit_log_seal_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL
       AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
       AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.principal = OLD.principal AND NEW.tool = OLD.tool
       AND NEW.record = OLD.record THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: a record is only sealed, once';
END $$
"""
_SQLITE_SEAL_ONLY = """
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL
          AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
          AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.principal = OLD.principal AND NEW.tool = OLD.tool
          AND NEW.record = OLD.record)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: a record is only sealed, once'); END
"""


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    # Rebuilt rather than altered: the primary key moves from seq to id, and SQLite cannot alter that.
    op.execute("CREATE TEMPORARY TABLE audit_log_0007 AS SELECT * FROM audit_log")
    op.drop_table("audit_log")  # its triggers go with it
    op.create_table(
        "audit_log",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("seq", sa.BigInteger, unique=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("tool", sa.String(100), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64)),
        sa.Column("hash", sa.String(64)),
        sa.CheckConstraint(
            "(seq IS NULL AND prev_hash IS NULL AND hash IS NULL) "
            "OR (seq IS NOT NULL AND prev_hash IS NOT NULL AND hash IS NOT NULL)",
            name="sealed_whole",
        ),
    )
    legacy_id = "'aud_' || " + (
        "lpad(seq::text, 26, '0')" if pg else "substr('00000000000000000000000000' || seq, -26)"
    )
    op.execute(f"INSERT INTO audit_log (id, seq, {_COLUMNS}) SELECT {legacy_id}, seq, {_COLUMNS} FROM audit_log_0007")
    op.create_index("ix_audit_log_tool_id", "audit_log", ["tool", "id"])
    op.create_index(
        "ix_audit_log_unsealed",
        "audit_log",
        ["id"],
        postgresql_where=sa.text("seq IS NULL"),
        sqlite_where=sa.text("seq IS NULL"),
    )
    _rewrite_stored_receipts()
    op.execute("DROP TABLE audit_log_0007")
    if pg:
        op.execute(_PG_SEAL_ONLY)
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_seal_only()"
        )
    else:
        op.execute(_SQLITE_SEAL_ONLY)
        op.execute(
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )


def _rewrite_stored_receipts() -> None:
    """A stored result (replayed for its idempotency key) carries the receipt of its call: in the new form."""
    conn = op.get_bind()
    stored = conn.execute(
        sa.text("SELECT principal, key, response FROM idempotency_keys WHERE response LIKE '%audit_seq%'")
    ).all()
    for principal, key, text in stored:
        response = json.loads(text)
        holder = response.get("__error__", {}).get("details", response)
        receipt = holder.get("receipt")
        if not isinstance(receipt, dict) or not isinstance(receipt.get("audit_seq"), int):
            continue
        record = conn.execute(
            sa.text("SELECT record FROM audit_log_0007 WHERE seq = :seq"), {"seq": receipt["audit_seq"]}
        ).scalar()
        holder["receipt"] = _receipt(receipt["audit_seq"], record) if record is not None else None
        conn.execute(
            sa.text("UPDATE idempotency_keys SET response = :response WHERE principal = :principal AND key = :key"),
            {"response": canonical_json(response), "principal": principal, "key": key},
        )


def _receipt(seq: int, record: str) -> dict[str, Any]:
    digest = hashlib.sha256(canonical_json(json.loads(record)).encode()).hexdigest()
    return {"audit_id": f"aud_{seq:026d}", "record_hash": digest}


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT count(*) FROM audit_log WHERE seq IS NULL")).scalar():
        raise RuntimeError("audit records wait to be sealed: run `mcp-payments worker --once`, then downgrade")
    query = sa.text(f"SELECT seq, {_COLUMNS} FROM audit_log ORDER BY seq").columns(sa.column("at", UTCDateTime))
    rows = conn.execute(query).all()
    op.drop_table("audit_log")
    if pg:
        op.execute("DROP FUNCTION audit_log_seal_only()")
    table = op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("tool", sa.String(100), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    # The old verifier reads seq from the record: records sealed since 0008 get it written in (their hash
    # was computed over exactly that form).
    op.bulk_insert(
        table,
        [
            {
                "seq": r.seq,
                "at": r.at,
                "principal": r.principal,
                "tool": r.tool,
                "record": canonical_json({**json.loads(r.record), "seq": r.seq}),
                "prev_hash": r.prev_hash,
                "hash": r.hash,
            }
            for r in rows
        ],
    )
    op.create_index("ix_audit_log_tool_seq", "audit_log", ["tool", "seq"])
    if pg:
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION forbid_change()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{action.lower()} BEFORE {action} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
