"""Reading and verifying the audit chain."""

from __future__ import annotations

from dataclasses import dataclass

from mcp_payments.domain import audit
from mcp_payments.services import pages
from mcp_payments.services.pages import Page
from mcp_payments.services.ports import AuditRecord, UnitOfWork

_BATCH = 1000


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    valid: bool
    records_checked: int
    first_broken_seq: int | None
    head_seq: int
    head_hash: str


class AuditService:
    @staticmethod
    async def log(uow: UnitOfWork, cursor: str | None, limit: int, tool: str | None) -> Page[AuditRecord]:
        rows = await uow.audit.page(pages.decode_int(cursor), limit + 1, tool)
        return pages.paginate(rows, limit, lambda r: r.seq)

    @staticmethod
    async def verify(uow: UnitOfWork) -> ChainVerdict:
        """Recompute every hash from genesis; the first record that does not match is reported."""
        head_seq, head_hash = await uow.audit.head()
        previous, after, checked, expected_seq = audit.GENESIS, 0, 0, 1
        while batch := await uow.audit.scan(after, _BATCH):
            for r in batch:
                if (
                    r.seq != expected_seq
                    or r.record.get("seq") != r.seq
                    or r.prev_hash != previous
                    or audit.chain_hash(previous, r.record) != r.hash
                ):
                    return ChainVerdict(
                        False, checked, expected_seq if r.seq != expected_seq else r.seq, head_seq, head_hash
                    )
                previous, checked, expected_seq = r.hash, checked + 1, expected_seq + 1
            after = batch[-1].seq
        if checked != head_seq or previous != head_hash:
            return ChainVerdict(False, checked, checked + 1, head_seq, head_hash)
        return ChainVerdict(True, checked, None, head_seq, head_hash)
