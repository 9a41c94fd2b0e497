"""Reading and verifying the audit log and its chain, and binding it to the journal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from mcp_payments.domain import audit
from mcp_payments.services import witness
from mcp_payments.services.monitoring_ports import MONITORING, Mark
from mcp_payments.services.pages import Cursors, Page
from mcp_payments.services.ports import AuditRecord, Clock, Signer, UnitOfWork
from mcp_payments.services.witness import AnyReceipt

_BATCH = 5000  # sealed records read per keyset page: the walk holds one page at a time, never the whole chain
VERIFIED = "audit_chain_verified"  # the mark a valid verification leaves: the checkpoint it signed


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
    verified_from_seq: int = 1  # the first record recomputed: 1 from genesis, k + 1 from a checkpoint of record k
    resumed_from: witness.Checkpoint | None = None  # the last verification's checkpoint the walk started from

    @property
    def proves(self) -> str:
        """What this verification shows, and what it does not, in a sentence or three."""
        cut = "A removal of the newest records shows only against a receipt or checkpoint kept outside the database."
        if self.resumed_from is None:
            return (
                f"Every sealed record (#1 to #{self.head_seq}) was recomputed from genesis: a change to any stored "
                f"record shows as first_broken_seq. {cut}"
            )
        k = self.resumed_from.seq
        return (
            f"Records #{k + 1} to #{self.head_seq} were recomputed from record #{k}, whose hash is still the one "
            f"this server signed when it last verified the chain ({self.resumed_from.at}); records #1 to #{k} were "
            "verified then and not read again now: a change to their content since shows only with full=true "
            f"(a rewrite of their hashes shows here, as a witness problem). {cut}"
        )


class AuditService:
    def __init__(self, cursors: Cursors, signer: Signer, clock: Clock) -> None:
        self.cursors = cursors
        self.signer = signer
        self.clock = clock

    async def log(self, uow: UnitOfWork, cursor: str | None, limit: int, tool: str | None) -> Page[AuditRecord]:
        rows = await uow.audit.page(self.cursors.decode_str("audit", cursor), limit + 1, tool)
        return self.cursors.paginate("audit", rows, limit, lambda r: r.id)

    async def verify(
        self,
        uow: UnitOfWork,
        receipts: Sequence[AnyReceipt] = (),
        checkpoints: Sequence[str] = (),
        *,
        full: bool = True,
    ) -> ChainVerdict:
        """The sealed chain, then every receipt and checkpoint the caller kept; when all holds, the head is signed
        into a new checkpoint to keep outside the database.

        full=False starts from the checkpoint the last valid verification left (remember()), when its signature
        verifies and the chain still holds its record with its hash (checked as any kept checkpoint is); otherwise,
        and with full=True, from genesis."""
        head_seq, _ = await uow.audit.head()
        resume = None if full else await self.last_checkpoint(uow)
        kept = list(checkpoints)
        stored: list[str] = []
        if resume is not None:
            text = resume[1]
            broken = await witness.problems(uow, self.signer, head_seq, (), [text])
            if broken:
                resume = None  # from genesis: the walk then says where the chain breaks, if it does
            if text not in kept:  # else the caller's own copy of it is checked below: said once
                stored = [f"the checkpoint of the last verification{p.removeprefix('checkpoint 1')}" for p in broken]
        chain = await self.verify_chain(uow, None if resume is None else resume[0])
        found = stored + await witness.problems(uow, self.signer, chain.head_seq, receipts, kept)
        if not chain.valid or found:
            return replace(chain, valid=False, witness_problems=found)
        checkpoint = witness.sign(self.signer, chain.head_seq, chain.head_hash, self.clock.now())
        return replace(chain, checkpoint=checkpoint)

    async def last_checkpoint(self, uow: UnitOfWork) -> tuple[witness.Checkpoint, str] | None:
        """The checkpoint the last valid verification signed, when there is one this deployment's key signed."""
        mark = await uow.repo(MONITORING).mark(VERIFIED)
        if mark is None or mark.detail is None:
            return None
        checkpoint = witness.read(self.signer, mark.detail)
        return None if isinstance(checkpoint, str) else (checkpoint, mark.detail)

    async def remember(self, uow: UnitOfWork, verdict: ChainVerdict) -> None:
        """Keep a valid verification's checkpoint: the next verification without full=True starts from it."""
        if verdict.checkpoint is not None:
            await uow.repo(MONITORING).put_mark(Mark(VERIFIED, self.clock.now(), True, verdict.checkpoint))

    @staticmethod
    async def verify_chain(uow: UnitOfWork, start: witness.Checkpoint | None = None) -> ChainVerdict:
        """Recompute every sealed record's hash, from genesis or from the record a checkpoint attests (whose hash
        the caller has checked); the first record that does not match is reported. Records not sealed yet are
        counted: they join the chain at the next sealing."""
        head_seq, head_hash = await uow.audit.head()
        unsealed = await uow.audit.unsealed_count()
        previous, expected_seq = (audit.GENESIS, 1) if start is None else (start.hash, start.seq + 1)
        first, checked = expected_seq, 0
        after = expected_seq - 1
        while batch := await uow.audit.scan(after, _BATCH):
            for r in batch:
                if r.seq != expected_seq or not _links(r, previous):
                    broken = expected_seq if r.seq != expected_seq else r.seq
                    return ChainVerdict(False, checked, broken, head_seq, head_hash, unsealed, [], None, first, start)
                previous, checked, expected_seq = str(r.hash), checked + 1, expected_seq + 1
            after = expected_seq - 1
        if expected_seq - 1 != head_seq or previous != head_hash:
            return ChainVerdict(False, checked, expected_seq, head_seq, head_hash, unsealed, [], None, first, start)
        return ChainVerdict(True, checked, None, head_seq, head_hash, unsealed, [], None, first, start)


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
