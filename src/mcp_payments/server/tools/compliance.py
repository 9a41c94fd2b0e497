"""Compliance tools: read and verify the tamper-evident audit trail."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from mcp_payments.domain import audit as audit_hash
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.models import Receipt
from mcp_payments.server.tools.params import Cursor, Limit
from mcp_payments.services import witness
from mcp_payments.services.compliance import AuditService, ChainVerdict
from mcp_payments.services.container import Services
from mcp_payments.services.pages import Page
from mcp_payments.services.ports import AuditRecord, UnitOfWork


class AuditEntry(BaseModel):
    audit_id: str
    seq: int | None = Field(description="Its place in the hash chain; null until the record is sealed (in a second).")
    at: datetime
    principal: str
    credential: str | None = Field(
        default=None,
        description="The id of the credential the principal authenticated with (key_... for an API key, jwt:... for "
        "a JWT); null for the local user, the system, and records written before credentials were recorded.",
    )
    tool: str
    arguments_sha256: str = Field(
        description="HMAC-SHA256 of the canonical JSON arguments under a key not in the database (plain SHA-256 in "
        "records written before erasure existed): values are not stored, and cannot be confirmed by guessing."
    )
    outcome: str
    entity_ids: list[str]
    journal: list[tuple[str, str]] = Field(
        default=[],
        description="The journal transactions this call posted: [transaction id, SHA-256 of its entries, kind, "
        "reference and time]. check_ledger_integrity compares them with the journal.",
    )
    record_hash: str = Field(description="SHA-256 of the record's canonical JSON: what a receipt holds.")
    hash: str | None = Field(description="Its hash in the chain; null until sealed.")

    @classmethod
    def of(cls, r: AuditRecord) -> "AuditEntry":
        body = {k: v for k, v in r.record.items() if k not in {"id", "seq"}}
        return cls(**body, audit_id=r.id, seq=r.seq, record_hash=audit_hash.record_hash(r.record), hash=r.hash)


class AuditLog(BaseModel):
    records: list[AuditEntry] = Field(description="Newest first.")
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[AuditRecord]) -> "AuditLog":
        return cls(records=[AuditEntry.of(r) for r in page.items], next_cursor=page.next_cursor)


class ChainReceipt(BaseModel):
    """A receipt given before records were sealed later (its place in the chain)."""

    audit_seq: int = Field(ge=1, le=2**63 - 1, description="Sequence number of the audit record.")
    audit_hash: str = Field(pattern="^[0-9a-f]{64}$", description="Its hash in the audit chain.")


class ChainCheck(BaseModel):
    valid: bool = Field(
        description="True when the sealed chain verifies and the log contains every receipt and checkpoint given."
    )
    records_checked: int = Field(description="Sealed records recomputed by this call (from verified_from_seq on).")
    first_broken_seq: int | None = Field(description="Sequence number of the first record that does not verify.")
    head_seq: int = Field(description="The sealed chain's last record.")
    head_hash: str
    unsealed_records: int = Field(
        description="Records appended but not linked into the chain yet; the sealer links them within a second."
    )
    witness_problems: list[str] = Field(
        description="Receipts and checkpoints the chain no longer contains (records removed or rewritten)."
    )
    checkpoint: str | None = Field(
        description="When valid: the head just verified, signed with a key that is not in the database. Keep it "
        "outside the server and pass it back later to prove nothing was cut off."
    )
    public_key: str = Field(description="The Ed25519 public key (raw, base64url) that checkpoints are signed with.")
    mode: Literal["full", "from_checkpoint"] = Field(
        default="full",
        description="full: every record recomputed from genesis. from_checkpoint: only the records after the "
        "checkpoint the last valid verification signed (see proves).",
    )
    verified_from_seq: int = Field(default=1, description="The first record this call recomputed.")
    proves: str = Field(default="", description="What this verification shows, and what it does not.")

    @classmethod
    def of(cls, v: ChainVerdict, public_key: str) -> "ChainCheck":
        return cls(
            mode="full" if v.resumed_from is None else "from_checkpoint",
            verified_from_seq=v.verified_from_seq,
            proves=v.proves,
            valid=v.valid,
            records_checked=v.records_checked,
            first_broken_seq=v.first_broken_seq,
            head_seq=v.head_seq,
            head_hash=v.head_hash,
            unsealed_records=v.unsealed_records,
            witness_problems=v.witness_problems,
            checkpoint=v.checkpoint,
            public_key=public_key,
        )


def register(box: Toolbox, app: Services) -> None:
    audit = app.get(AuditService)

    @box.query(toolset="compliance", title="Audit log", snapshot=False)
    async def get_audit_log(
        uow: UnitOfWork,
        limit: Limit = 20,
        cursor: Cursor = None,
        tool: Annotated[
            str | None,
            Field(
                default=None,
                pattern="^[a-z_]{1,64}$",
                description="Only records of this tool, e.g. transfer_funds.",
            ),
        ] = None,
    ) -> AuditLog:
        """Read the audit trail of every state-changing call, newest first: who called which tool, when, and
        which entities it touched. Records of the last second may not be sealed into the chain yet (seq null)."""
        return AuditLog.of(await audit.log(uow, cursor, limit, tool))

    @box.query(toolset="compliance", title="Verify audit chain")
    async def verify_audit_chain(
        receipts: Annotated[
            list[Receipt | ChainReceipt] | None,
            Field(
                default=None,
                max_length=1000,
                description="Receipts returned by earlier calls: each record must still be in the log, unchanged "
                "(and, once sealed, in the chain).",
            ),
        ] = None,
        checkpoints: Annotated[
            list[Annotated[str, Field(max_length=1000)]] | None,
            Field(
                default=None,
                max_length=100,
                description="Checkpoints returned by earlier verifications: the chain must still contain the head "
                "each one signed.",
            ),
        ] = None,
        full: Annotated[
            bool,
            Field(
                description="Recompute every record from genesis. Without it, only the records sealed since the last "
                "valid verification are recomputed, from the checkpoint it signed (its record's hash checked): "
                "quick, but a change to an older record's content shows only with full=true.",
            ),
        ] = False,
    ) -> ChainCheck:
        """Recompute the audit trail's hash chain and check the receipts and checkpoints you kept: from the last
        verified checkpoint, or from the first record with full=true (`proves` says which). valid=false with
        first_broken_seq means a stored record was changed; witness_problems means records were removed or the
        chain rewritten. Records of the last second may wait to be sealed (unsealed_records). When valid, returns
        a new signed checkpoint of the sealed head to keep."""
        kept = [
            witness.Receipt(r.audit_id, r.record_hash)
            if isinstance(r, Receipt)
            else witness.ChainReceipt(r.audit_seq, r.audit_hash)
            for r in receipts or []
        ]
        verdict = await app.calls.read(lambda uow: audit.verify(uow, kept, checkpoints or [], full=full))
        if verdict.checkpoint is not None:
            await app.calls.write(lambda uow: audit.remember(uow, verdict))  # where the next call starts
        return ChainCheck.of(verdict, audit.signer.public_key)
