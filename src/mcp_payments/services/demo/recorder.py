"""The rows of a demo history as the server writes them, collected in batches for a bulk writer.

Every journal transaction is bound by the audit record of the call or job that posted it, and the records are
linked into the hash chain here, in time order, continuing from the chain's head: the writer inserts them
sealed, as the sealer would have (services/sealing.py), so check_ledger_integrity and verify_audit_chain hold.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mcp_payments.domain import audit
from mcp_payments.domain.audit import canonical_json
from mcp_payments.domain.ledger import Entry, JournalTransaction

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

Row = dict[str, Any]


SENT = "_sent"  # marks a row handed to the writer: a later change to it goes out as an update
MUTABLE = ("payments", "refunds")  # the tables whose rows change after they are written


@dataclass
class Batch:
    """Rows per table name, in the order they were made, then the rows written before that changed since
    (by id); `payments` counts the new payments."""

    rows: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))
    updates: dict[str, dict[str, Row]] = field(default_factory=lambda: defaultdict(dict))
    payments: int = 0


class Recorder:
    def __init__(self, rng: random.Random, principal: str, head: tuple[int, str]) -> None:
        self.rng = rng
        self.principal = principal
        self.seq, self.hash = head
        self.batch = Batch()
        self.posted: defaultdict[str, int] = defaultdict(int)  # what the history adds to each account

    def new_id(self, prefix: str, at: datetime) -> str:
        """A ULID like the server's (ids sort by creation time), its random part drawn from the seed."""
        value = (int(at.timestamp() * 1000) << 80) | self.rng.getrandbits(80)
        return f"{prefix}_{''.join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))}"

    def add(self, table: str, row: Row) -> None:
        self.batch.rows[table].append(row)

    def change(self, table: str, row: Row, **values: Any) -> None:
        """Change a row; one already written is written again, as an update, with the next batch."""
        row.update(values)
        if row.get(SENT):
            self.batch.updates[table][row["id"]] = row

    def take(self) -> Batch:
        batch, self.batch = self.batch, Batch()
        for table in MUTABLE:
            for row in batch.rows.get(table, ()):
                row[SENT] = True
        return batch

    def post(
        self, kind: str, entries: list[Entry], memo: str | None, at: datetime, reference: str | None
    ) -> JournalTransaction:
        """A balanced journal transaction (the domain refuses one that is not) and its entries."""
        txn = JournalTransaction(
            self.new_id("txn", at), kind, tuple(e for e in entries if e.amount), memo, at, reference
        )
        self.add(
            "journal_transactions", {"id": txn.id, "kind": kind, "memo": memo, "created_at": at, "reference": reference}
        )
        for e in txn.entries:
            self.add(
                "entries",
                {"transaction_id": txn.id, "account_id": e.account_id, "amount": e.amount, "currency": e.currency},
            )
            self.posted[e.account_id] += e.amount
        return txn

    def record(
        self,
        tool: str,
        at: datetime,
        arguments: dict[str, Any],
        entities: list[str],
        journal: Sequence[JournalTransaction] = (),
        *,
        outcome: str = "ok",
        principal: str | None = None,
        credential: str | None = None,
    ) -> None:
        """The audit record of one call (or background job), sealed at the next place in the chain."""
        record_id = self.new_id("aud", at)
        body = {
            "id": record_id,
            "at": at.isoformat(),
            "principal": principal or self.principal,
            "credential": credential,
            "tool": tool,
            "arguments_sha256": audit.argument_hash(arguments),
            "outcome": outcome,
            "entity_ids": sorted(set(entities)),
            "journal": audit.journal_bindings(journal),
        }
        self.seq += 1
        previous, self.hash = self.hash, audit.chain_hash(self.hash, audit.sealed_form(body, self.seq))
        self.add(
            "audit_log",
            {
                "id": record_id,
                "seq": self.seq,
                "at": at,
                "principal": body["principal"],
                "tool": tool,
                "record": canonical_json(body),
                "prev_hash": previous,
                "hash": self.hash,
            },
        )
