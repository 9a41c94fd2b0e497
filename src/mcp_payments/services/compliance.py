"""Reading and verifying the audit log and its chain, and binding it to the journal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

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


async def journal_problems(uow: UnitOfWork) -> list[str]:
    """Where the journal and the audit log disagree, in both directions.

    Every journal transaction must be bound by exactly one audit record (the record of the call or the
    background job that posted it, sealed or not yet) and still match the digest recorded there; every
    transaction a record binds must still be in the journal. Records written before binding existed carry no
    `journal`: the transactions posted before the last of them cannot be checked and are not reported."""
    bound: dict[str, tuple[str, str]] = {}
    problems: list[str] = []
    unbound_before: datetime | None = None
    after: str | None = None
    while batch := await uow.audit.scan_all(after, _BATCH):
        for r in batch:
            journal = r.record.get("journal")
            if not isinstance(journal, list):
                at = datetime.fromisoformat(str(r.record.get("at")))
                unbound_before = at if unbound_before is None else max(unbound_before, at)
                continue
            for txn_id, digest in journal:
                if txn_id in bound:
                    problems.append(f"transaction {txn_id} is bound by two audit records ({bound[txn_id][0]}, {r.id})")
                bound[txn_id] = (r.id, digest)
        after = batch[-1].id
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
                    f"transaction {txn.id} no longer matches audit record {binding[0]}: its entries, kind, "
                    "reference or time were changed after it was posted"
                )
        last = page[-1].id
    problems += [
        f"audit record {record_id} binds transaction {txn_id}, which is missing from the journal (deleted?)"
        for txn_id, (record_id, _) in sorted(bound.items(), key=lambda item: item[1][0])
    ]
    return problems
