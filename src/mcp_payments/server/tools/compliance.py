"""Compliance tools: read and verify the tamper-evident audit trail."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from mcp_payments.server.registry import Toolbox, ToolKind
from mcp_payments.server.tools.params import Cursor, Limit
from mcp_payments.services.compliance import ChainVerdict
from mcp_payments.services.container import Services
from mcp_payments.services.pages import Page
from mcp_payments.services.ports import AuditRecord


class AuditEntry(BaseModel):
    seq: int
    at: datetime
    principal: str
    tool: str
    arguments_sha256: str = Field(description="SHA-256 of the canonical JSON arguments (values are not stored).")
    outcome: str
    entity_ids: list[str]
    hash: str


class AuditLog(BaseModel):
    records: list[AuditEntry] = Field(description="Newest first.")
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[AuditRecord]) -> "AuditLog":
        return cls(records=[AuditEntry(**r.record, hash=r.hash) for r in page.items], next_cursor=page.next_cursor)


class ChainCheck(BaseModel):
    valid: bool
    records_checked: int
    first_broken_seq: int | None = Field(description="Sequence number of the first record that does not verify.")
    head_seq: int
    head_hash: str

    @classmethod
    def of(cls, v: ChainVerdict) -> "ChainCheck":
        return cls(
            valid=v.valid,
            records_checked=v.records_checked,
            first_broken_seq=v.first_broken_seq,
            head_seq=v.head_seq,
            head_hash=v.head_hash,
        )


def register(box: Toolbox, app: Services) -> None:
    async def get_audit_log(
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
        which entities it touched."""
        return AuditLog.of(await box.read(lambda uow: app.audit.log(uow, cursor, limit, tool), snapshot=False))

    async def verify_audit_chain() -> ChainCheck:
        """Recompute the audit trail's hash chain from the first record. valid=false with first_broken_seq
        means a stored record was changed or removed."""
        return ChainCheck.of(await box.read(app.audit.verify))

    box.add(get_audit_log, kind=ToolKind.READ, toolset="compliance", title="Audit log")
    box.add(verify_audit_chain, kind=ToolKind.READ, toolset="compliance", title="Verify audit chain")
