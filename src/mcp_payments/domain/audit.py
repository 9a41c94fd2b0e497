"""The audit hash chain: h_n = SHA-256(h_{n-1} || canonical_json(record_n)).

A record of a call that moved money also binds the journal transactions it caused (journal_digest),
so the journal and the chain vouch for each other: a transaction changed, removed or forged behind
the server's back no longer matches the chain (services/monitoring.py checks both directions).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from mcp_payments.domain.ledger import JournalTransaction

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """One byte-exact JSON form: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def argument_hash(arguments: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(arguments).encode()).hexdigest()


def chain_hash(previous: str, record: Mapping[str, Any]) -> str:
    return hashlib.sha256((previous + canonical_json(record)).encode()).hexdigest()


def journal_digest(txn: JournalTransaction) -> str:
    """What an audit record binds of a journal transaction it caused: id, kind, reference, time and entries.

    The memo is left out on purpose: it is free text that may be erased (personal data) without the
    money it describes changing. Entries are sorted, so the order rows come back in does not matter."""
    entries = sorted([e.account_id, e.amount, e.currency] for e in txn.entries)
    body = {
        "id": txn.id,
        "kind": txn.kind,
        "reference": txn.reference,
        "created_at": txn.created_at.isoformat(),
        "entries": entries,
    }
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def journal_bindings(transactions: Iterable[JournalTransaction]) -> list[list[str]]:
    """[[transaction id, digest], ...] in id order: the journal part of an audit record."""
    return sorted([txn.id, journal_digest(txn)] for txn in transactions)
