"""The audit records and their hash chain: h_n = SHA-256(h_{n-1} || canonical_json(record_n)).

A call appends its record unsealed, with no shared lock; the sealer (services/sealing.py) links the
committed records into the chain later, in the order it seals them. What the caller gets back at once
is the record's own hash (record_hash); the record's place in the chain (seq, hash) comes at sealing.
The hashed form of a sealed record is its body with `seq` added, so records sealed before sealing
existed (their bodies hold `seq` already) verify by the same rule.

A record of a call that moved money also binds the journal transactions it caused (journal_digest),
so the journal and the chain vouch for each other: a transaction changed, removed or forged behind
the server's back no longer matches the chain (services/monitoring.py checks both directions).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson

from mcp_payments.domain.ledger import JournalTransaction

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """One byte-exact JSON form: sorted keys, no spaces, UTF-8 kept.

    orjson writes the same bytes as `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)` for
    what we hash (text, integers, booleans, null, lists and objects: tests/domain/test_audit.py checks it) at a
    tenth of the CPU. What orjson refuses (an integer past 64 bits, a key that is not text) falls back to the
    standard library. Floats would differ in their exponent's spelling: no hashed value holds one (money is
    never a float, and no mutating tool takes a number that is not an integer)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def argument_hash(arguments: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(arguments).encode()).hexdigest()


def keyed_argument_hash(key: bytes, arguments: Mapping[str, Any]) -> str:
    """What an audit record holds of a call's arguments: an HMAC-SHA256 under a key kept out of the database.

    A plain hash of create_customer's {"email": ..., "name": ...} would let anyone holding the log confirm a guess
    of who a customer was, after that customer's data was erased; hashed content never changes, so it must not
    hold personal data even hashed. The keyed form still tells two calls' arguments apart."""
    return hmac.digest(key, canonical_json(arguments).encode(), "sha256").hex()  # one-shot: no HMAC object


class Hmac:
    """HMAC-SHA256 under one key, set up once: a copy of it per message costs a third of a new HMAC, and a mutating
    call makes three (benchmarks/transfers.py)."""

    __slots__ = ("_base",)

    def __init__(self, key: bytes) -> None:
        self._base = hmac.new(key, digestmod=hashlib.sha256)

    def hex(self, message: bytes) -> str:
        mac = self._base.copy()
        mac.update(message)
        return mac.hexdigest()

    def of_arguments(self, arguments: Mapping[str, Any]) -> str:
        """keyed_argument_hash under this key."""
        return self.hex(canonical_json(arguments).encode())


def record_hash(body: Mapping[str, Any]) -> str:
    """The hash of a record's body: what the caller's receipt holds before the record is sealed."""
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def chain_hash(previous: str, record: Mapping[str, Any]) -> str:
    return hashlib.sha256((previous + canonical_json(record)).encode()).hexdigest()


def sealed_form(body: Mapping[str, Any], seq: int) -> dict[str, Any]:
    """What the chain hashes of a record sealed at `seq`."""
    return {**body, "seq": seq}


def journal_digest(txn: JournalTransaction) -> str:
    """What an audit record binds of a journal transaction it caused: id, kind, reference, time and entries.

    The memo is left out on purpose: it is free text that may be erased (personal data) without the
    money it describes changing. Entries are sorted, so the order rows come back in does not matter."""
    return digest_of_journal(
        txn.id, txn.kind, txn.reference, txn.created_at, [(e.account_id, e.amount, e.currency) for e in txn.entries]
    )


def digest_of_journal(
    txn_id: str, kind: str, reference: str | None, created_at: datetime | str, entries: Iterable[tuple[str, int, str]]
) -> str:
    """journal_digest of a transaction given as its columns (created_at as a datetime or its isoformat()) and its
    (account, amount, currency) entries."""
    body = {
        "id": txn_id,
        "kind": kind,
        "reference": reference,
        "created_at": created_at if isinstance(created_at, str) else created_at.isoformat(),
        "entries": sorted([account, amount, currency] for account, amount, currency in entries),
    }
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def journal_bindings(transactions: Iterable[JournalTransaction]) -> list[list[str]]:
    """[[transaction id, digest], ...] in id order: the journal part of an audit record."""
    return sorted([txn.id, journal_digest(txn)] for txn in transactions)
