"""Sealing: linking committed audit records into the hash chain, off the request path.

A call appends its record unsealed, with no lock shared by other calls (services/calls.py). The sealer
takes the chain's head (locked; on PostgreSQL a sealer that finds it held by another leaves the work to
it), reads committed unsealed records in id order, links each to the one before it and moves the head,
all in one transaction. Two sealers never fork the chain: one holds the head, and a record is sealed
only where it is still unsealed, or nothing is. A record that commits after later ones were sealed is
found all the same (unsealed records are selected by having no seq, not by position) and sealed next.
It runs as a job of the compliance category, every half second in `serve` and `worker`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mcp_payments.domain import audit
from mcp_payments.services.jobs import Job
from mcp_payments.services.ports import AuditLink, Claim, UnitOfWork

SEALER = "seal_audit_log"
BATCH = 500  # records per transaction
EVERY = timedelta(seconds=0.5)


@dataclass(frozen=True, slots=True)
class Seal:
    """Records linked after the head, in the order they are sealed."""

    links: list[AuditLink]


async def claim(uow: UnitOfWork, claim: Claim) -> list[Seal]:
    head = await uow.audit.lock_head()
    if head is None:
        return []  # another sealer holds the head: it seals what is there
    seq, previous = head
    links = []
    for record in await uow.audit.unsealed(claim):
        seq += 1
        digest = audit.chain_hash(previous, audit.sealed_form(record.record, seq))
        links.append(AuditLink(record.id, seq, previous, digest))
        previous = digest
    return [Seal(links)] if links else []


async def handle(uow: UnitOfWork, seal: Seal) -> list[str]:
    await uow.audit.seal(seal.links)
    return []


async def oldest_unsealed(uow: UnitOfWork, claim: Claim) -> datetime | None:
    return await uow.audit.oldest_unsealed(claim)


def first_record(seal: Seal) -> str:
    return seal.links[0].id


def records_in(seal: Seal) -> int:
    return len(seal.links)


# Not audited: sealing records is the audit trail's own work, and a record of it would need sealing in turn. A run
# seals what was unsealed when it began, in batches, and leaves records committed meanwhile to the next run.
JOB: Job[Seal] = Job(
    SEALER,
    claim,
    handle,
    first_record,
    oldest_unsealed,
    audited=False,
    batch=BATCH,
    every=EVERY,
    size=records_in,
)
