"""Reading and verifying the audit chain, and binding it to the journal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mcp_payments.domain import audit
from mcp_payments.services.pages import Cursors, Page
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
    def __init__(self, cursors: Cursors) -> None:
        self.cursors = cursors

    async def log(self, uow: UnitOfWork, cursor: str | None, limit: int, tool: str | None) -> Page[AuditRecord]:
        rows = await uow.audit.page(self.cursors.decode_int("audit", cursor), limit + 1, tool)
        return self.cursors.paginate("audit", rows, limit, lambda r: r.seq)

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
