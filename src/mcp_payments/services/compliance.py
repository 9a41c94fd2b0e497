"""Reading and verifying the audit log and its chain, and binding it to the journal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from mcp_payments.domain import audit
from mcp_payments.services import witness
from mcp_payments.services.pages import Cursors, Page
from mcp_payments.services.ports import AuditRecord, Clock, Signer, UnitOfWork
from mcp_payments.services.witness import AnyReceipt

_BATCH = 1000


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    valid: bool
    records_checked: int
    first_broken_seq: int | None
    head_seq: int
    head_hash: str
    unsealed_records: int = 0  # appended, not linked into the chain yet (the sealer does it within a second)
    witness_problems: list[str] = field(default_factory=list)
    checkpoint: str | None = None  # the head just verified, signed (only when everything verified)


class AuditService:
    def __init__(self, cursors: Cursors, signer: Signer, clock: Clock) -> None:
        self.cursors = cursors
        self.signer = signer
        self.clock = clock

    async def log(self, uow: UnitOfWork, cursor: str | None, limit: int, tool: str | None) -> Page[AuditRecord]:
        rows = await uow.audit.page(self.cursors.decode_str("audit", cursor), limit + 1, tool)
        return self.cursors.paginate("audit", rows, limit, lambda r: r.id)

    async def verify(
        self, uow: UnitOfWork, receipts: Sequence[AnyReceipt] = (), checkpoints: Sequence[str] = ()
    ) -> ChainVerdict:
        """The sealed chain from genesis, then every receipt and checkpoint the caller kept; when all holds, the
        head is signed into a new checkpoint to keep outside the database."""
        chain = await self.verify_chain(uow)
        found = await witness.problems(uow, self.signer, chain.head_seq, receipts, checkpoints)
        if not chain.valid or found:
            return replace(chain, valid=False, witness_problems=found)
        checkpoint = witness.sign(self.signer, chain.head_seq, chain.head_hash, self.clock.now())
        return replace(chain, checkpoint=checkpoint)

    @staticmethod
    async def verify_chain(uow: UnitOfWork) -> ChainVerdict:
        """Recompute every sealed record's hash from genesis; the first record that does not match is reported.
        Records not sealed yet are counted: they join the chain at the next sealing."""
        head_seq, head_hash = await uow.audit.head()
        unsealed = await uow.audit.unsealed_count()
        previous, after, checked, expected_seq = audit.GENESIS, 0, 0, 1
        while batch := await uow.audit.scan(after, _BATCH):
            for r in batch:
                if r.seq != expected_seq or not _links(r, previous):
                    broken = expected_seq if r.seq != expected_seq else r.seq
                    return ChainVerdict(False, checked, broken, head_seq, head_hash, unsealed)
                previous, checked, expected_seq = str(r.hash), checked + 1, expected_seq + 1
            after = expected_seq - 1
        if checked != head_seq or previous != head_hash:
            return ChainVerdict(False, checked, checked + 1, head_seq, head_hash, unsealed)
        return ChainVerdict(True, checked, None, head_seq, head_hash, unsealed)


def _links(r: AuditRecord, previous: str) -> bool:
    """Whether sealed record `r` follows `previous` and still hashes to what the chain holds. A body names its
    id (records sealed before sealing existed have none, and hold their seq instead)."""
    assert r.seq is not None
    body = r.record
    return (
        body.get("seq", r.seq) == r.seq
        and body.get("id", r.id) == r.id
        and r.prev_hash == previous
        and audit.chain_hash(previous, audit.sealed_form(body, r.seq)) == r.hash
    )
