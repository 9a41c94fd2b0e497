"""Witnesses of the audit chain kept outside the database: receipts and signed checkpoints.

A hash chain shows that a record was changed, but not that the newest records were cut off and the
head moved back: the shortened chain verifies. What catches that is something the database does not
hold. A receipt (sequence number and hash, returned by every mutating call) proves one record; a
checkpoint is the head (sequence number and hash) signed with a key that is not in the database.
Either, checked later, shows whether the chain still contains what it contained then.
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
    seq: int
    hash: str


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
    uow: UnitOfWork, signer: Signer, head_seq: int, receipts: Sequence[Receipt], checkpoints: Sequence[str]
) -> list[str]:
    """Every receipt and checkpoint that the chain no longer contains, each said plainly."""
    found: list[str] = []
    attested: list[tuple[str, int, str]] = [(f"receipt #{r.seq}", r.seq, r.hash) for r in receipts]
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


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
