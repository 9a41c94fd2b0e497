"""Witnesses of the audit chain kept outside the database: receipts and signed checkpoints.

A hash chain shows that a record was changed, but not that the newest records were cut off and the
head moved back: the shortened chain verifies. What catches that is something the database does not
hold. A receipt (the record's id and the hash of its body, returned by every mutating call) proves one
record, sealed or not yet; a checkpoint is the sealed head (sequence number and hash) signed with a key
that is not in the database. Either, checked later, shows whether the log still contains what it
contained then. Receipts given before sealing existed ({audit_seq, audit_hash}) are still checked.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mcp_payments.domain import audit
from mcp_payments.services.ports import Signer, UnitOfWork

_PREFIX = "ckpt1"
_CONTEXT = b"mcp-payments audit checkpoint\n"


@dataclass(frozen=True, slots=True)
class Receipt:
    audit_id: str
    record_hash: str


@dataclass(frozen=True, slots=True)
class ChainReceipt:
    """A receipt from before sealing: the record's place in the chain and its chain hash."""

    seq: int
    hash: str


AnyReceipt = Receipt | ChainReceipt


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str
    at: str


def sign(signer: Signer, seq: int, head_hash: str, at: datetime) -> str:
    """ckpt1.<base64url JSON {seq, hash, at}>.<base64url Ed25519 signature>"""
    body = audit.canonical_json({"seq": seq, "hash": head_hash, "at": at.isoformat()}).encode()
    return f"{_PREFIX}.{_b64(body)}.{_b64(signer.sign(_CONTEXT + body))}"


def read(signer: Signer, text: str) -> Checkpoint | str:
    """The checkpoint, or why it is not one this deployment signed."""
    prefix, _, rest = text.partition(".")
    body_text, _, signature_text = rest.partition(".")
    try:
        body, signature = _unb64(body_text), _unb64(signature_text)
        fields = json.loads(body) if prefix == _PREFIX else None
    except (binascii.Error, ValueError):
        fields = None
    if not isinstance(fields, dict):
        return "is not a checkpoint (expected ckpt1.<body>.<signature>)"
    if not signer.verify(_CONTEXT + body, signature):
        return "has a signature that does not verify: it was altered, or not signed with this deployment's key"
    seq, head_hash, at = fields.get("seq"), fields.get("hash"), fields.get("at")
    if not (isinstance(seq, int) and seq >= 0 and isinstance(head_hash, str) and isinstance(at, str)):
        return "is signed but malformed"
    return Checkpoint(seq, head_hash, at)


async def problems(
    uow: UnitOfWork, signer: Signer, head_seq: int, receipts: Sequence[AnyReceipt], checkpoints: Sequence[str]
) -> list[str]:
    """Every receipt and checkpoint that the log no longer contains, each said plainly."""
    found = await _records_gone(uow, head_seq, [r for r in receipts if isinstance(r, Receipt)])
    attested = [(f"receipt #{r.seq}", r.seq, r.hash) for r in receipts if isinstance(r, ChainReceipt)]
    for index, text in enumerate(checkpoints, 1):
        checkpoint = read(signer, text)
        if isinstance(checkpoint, str):
            found.append(f"checkpoint {index} {checkpoint}")
        else:
            attested.append((f"checkpoint {index} (signed {checkpoint.at})", checkpoint.seq, checkpoint.hash))
    hashes = await uow.audit.hashes_at(sorted({seq for _, seq, _ in attested if 0 < seq <= head_seq}))
    hashes[0] = audit.GENESIS
    for name, seq, expected in attested:
        if seq > head_seq:
            found.append(f"{name} attests record #{seq}, but the chain now ends at #{head_seq}: records were removed")
        elif hashes.get(seq) is None:
            found.append(f"{name} attests record #{seq}, which is missing from the chain: records were removed")
        elif hashes[seq] != expected:
            found.append(
                f"{name} attests record #{seq} with hash {expected[:16]}..., the chain holds {hashes[seq][:16]}...: "
                "the chain was rewritten"
            )
    return found


async def _records_gone(uow: UnitOfWork, head_seq: int, receipts: Sequence[Receipt]) -> list[str]:
    found: list[str] = []
    stored = await uow.audit.by_ids(sorted({r.audit_id for r in receipts}))
    for receipt in receipts:
        name = f"receipt {receipt.audit_id}"
        record = stored.get(receipt.audit_id)
        if record is None:
            found.append(f"{name}: the record is missing from the audit log: records were removed")
        elif (held := audit.record_hash(record.record)) != receipt.record_hash:
            found.append(
                f"{name} attests a record hashing to {receipt.record_hash[:16]}..., the log holds one hashing to "
                f"{held[:16]}...: the record was rewritten"
            )
        elif record.seq is not None and record.seq > head_seq:
            found.append(
                f"{name}: the record was sealed at #{record.seq}, but the chain now ends at #{head_seq}: "
                "the head was moved back"
            )
    return found


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
