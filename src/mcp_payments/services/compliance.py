"""Reading and verifying the audit chain, and binding it to the journal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mcp_payments.domain import audit
from mcp_payments.services import witness
from mcp_payments.services.pages import Cursors, Page
from mcp_payments.services.ports import AuditRecord, Clock, Signer, UnitOfWork
from mcp_payments.services.witness import Receipt

_BATCH = 1000


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    valid: bool
    records_checked: int
    first_broken_seq: int | None
    head_seq: int
    head_hash: str
    witness_problems: list[str] = field(default_factory=list)
    checkpoint: str | None = None  # the head just verified, signed (only when everything verified)


class AuditService:
    def __init__(self, cursors: Cursors, signer: Signer, clock: Clock) -> None:
        self.cursors = cursors
        self.signer = signer
        self.clock = clock

    async def log(self, uow: UnitOfWork, cursor: str | None, limit: int, tool: str | None) -> Page[AuditRecord]:
        rows = await uow.audit.page(self.cursors.decode_int("audit", cursor), limit + 1, tool)
        return self.cursors.paginate("audit", rows, limit, lambda r: r.seq)

    async def verify(
        self, uow: UnitOfWork, receipts: Sequence[Receipt] = (), checkpoints: Sequence[str] = ()
    ) -> ChainVerdict:
        """The chain from genesis, then every receipt and checkpoint the caller kept; when all holds, the head is
        signed into a new checkpoint to keep outside the database."""
        chain = await self.verify_chain(uow)
        found = await witness.problems(uow, self.signer, chain.head_seq, receipts, checkpoints)
        if not chain.valid or found:
            return ChainVerdict(False, *_fields(chain)[1:], witness_problems=found)
        checkpoint = witness.sign(self.signer, chain.head_seq, chain.head_hash, self.clock.now())
        return ChainVerdict(True, *_fields(chain)[1:], checkpoint=checkpoint)

    @staticmethod
    async def verify_chain(uow: UnitOfWork) -> ChainVerdict:
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


def _fields(v: ChainVerdict) -> tuple[bool, int, int | None, int, str]:
    return v.valid, v.records_checked, v.first_broken_seq, v.head_seq, v.head_hash


async def journal_problems(uow: UnitOfWork) -> list[str]:
    """Where the journal and the audit chain disagree, in both directions.

    Every journal transaction must be bound by exactly one audit record (the record of the call or the
    background job that posted it) and still match the digest recorded there; every transaction a record
    binds must still be in the journal. Records written before binding existed carry no `journal`: the
    transactions posted before the last of them cannot be checked and are not reported."""
    bound: dict[str, tuple[int, str]] = {}
    problems: list[str] = []
    unbound_before: datetime | None = None
    after = 0
    while batch := await uow.audit.scan(after, _BATCH):
        for r in batch:
            journal = r.record.get("journal")
            if not isinstance(journal, list):
                unbound_before = datetime.fromisoformat(str(r.record.get("at")))
                continue
            for txn_id, digest in journal:
                if txn_id in bound:
                    problems.append(
                        f"transaction {txn_id} is bound by two audit records (#{bound[txn_id][0]}, #{r.seq})"
                    )
                bound[txn_id] = (r.seq, digest)
        after = batch[-1].seq
    last: str | None = None
    while page := await uow.ledger.journal_page(last, _BATCH):
        for txn in page:
            binding = bound.pop(txn.id, None)
            if binding is None:
                if unbound_before is None or txn.created_at > unbound_before:
                    problems.append(
                        f"transaction {txn.id} has no audit record: it was not posted through this server, "
                        "or its audit record was removed"
                    )
            elif audit.journal_digest(txn) != binding[1]:
                problems.append(
                    f"transaction {txn.id} no longer matches audit record #{binding[0]}: its entries, kind, "
                    "reference or time were changed after it was posted"
                )
        last = page[-1].id
    problems += [
        f"audit record #{seq} binds transaction {txn_id}, which is missing from the journal (deleted?)"
        for txn_id, (seq, _) in sorted(bound.items(), key=lambda item: item[1][0])
    ]
    return problems
