"""Output models shared by the tools: what an agent reads back."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, Literal, Self

from mcp.types import CallToolResult, ImageContent, TextContent
from pydantic import BaseModel, Field, PrivateAttr

from mcp_payments.domain import money
from mcp_payments.domain.ledger import Account, Hold, JournalTransaction


class MoneyOut(BaseModel):
    amount: str = Field(description='Decimal string with the currency\'s exact decimals, e.g. "12.30".')
    amount_minor: int = Field(description="The same amount in integer minor units, e.g. 1230.")
    currency: str

    @classmethod
    def of(cls, minor: int, currency: str) -> MoneyOut:
        return cls(**cls.fields(minor, currency))

    @staticmethod
    def fields(minor: int, currency: str) -> dict[str, Any]:
        """The fields of a MoneyOut, for a parent model that is validated whole (see Wallet.of)."""
        cur = money.currency(currency)
        return {"amount": money.format_minor(minor, cur.exponent), "amount_minor": minor, "currency": cur.code}


class Wallet(BaseModel):
    id: str
    name: str
    currency: str
    posted: MoneyOut = Field(description="Booked balance.")
    pending: MoneyOut = Field(description="Reserved by active holds.")
    available: MoneyOut = Field(description="What can be spent now: posted - pending.")
    created_at: datetime

    @classmethod
    def of(cls, a: Account) -> Wallet:
        # One validation of the whole tree, not one per MoneyOut: get_wallet is the hottest read
        # (benchmarks/tool_latency.py).
        return cls.model_validate(cls.fields(a))

    @staticmethod
    def fields(a: Account) -> dict[str, Any]:
        """The fields of a Wallet, for a parent model that is validated whole (TransferResult.of)."""
        return {
            "id": a.id,
            "name": a.name,
            "currency": a.currency,
            "posted": MoneyOut.fields(a.posted, a.currency),
            "pending": MoneyOut.fields(a.pending, a.currency),
            "available": MoneyOut.fields(a.available, a.currency),
            "created_at": a.created_at,
        }


class EntryOut(BaseModel):
    account_id: str
    amount: MoneyOut = Field(description="Signed: negative leaves the account, positive arrives.")


class Transaction(BaseModel):
    id: str
    kind: str
    memo: str | None
    created_at: datetime
    entries: list[EntryOut]

    def entity_ids(self) -> tuple[str, ...]:
        """The transaction and every account it moved."""
        return (self.id, *(e.account_id for e in self.entries))

    @classmethod
    def of(cls, t: JournalTransaction) -> Transaction:
        return cls.model_validate(cls.fields(t))  # one validation of the whole tree, as Wallet.of

    @staticmethod
    def fields(t: JournalTransaction) -> dict[str, Any]:
        """The fields of a Transaction, for a parent model that is validated whole (TransferResult.of)."""
        return {
            "id": t.id,
            "kind": t.kind,
            "memo": t.memo,
            "created_at": t.created_at,
            "entries": [
                {"account_id": e.account_id, "amount": MoneyOut.fields(e.amount, e.currency)} for e in t.entries
            ],
        }


class HoldOut(BaseModel):
    id: str
    wallet_id: str
    status: str = Field(description="active, captured, released or expired.")
    amount: MoneyOut
    captured: MoneyOut
    memo: str | None
    created_at: datetime
    expires_at: datetime
    resolved_at: datetime | None
    capture_transaction_id: str | None

    @classmethod
    def of(cls, h: Hold) -> HoldOut:
        return cls(
            id=h.id,
            wallet_id=h.account_id,
            status=h.status.value,
            amount=MoneyOut.of(h.amount, h.currency),
            captured=MoneyOut.of(h.captured_amount, h.currency),
            memo=h.memo,
            created_at=h.created_at,
            expires_at=h.expires_at,
            resolved_at=h.resolved_at,
            capture_transaction_id=h.capture_transaction_id,
        )


class Receipt(BaseModel):
    audit_id: str = Field(pattern="^aud_[0-9A-Z]{26}$", description="The id of the audit record of this call.")
    record_hash: str = Field(
        pattern="^[0-9a-f]{64}$",
        description="SHA-256 of the record's canonical JSON. The record is sealed into the hash chain within a "
        "second; get_audit_log shows its place (seq, hash) from then on.",
    )


class Mutation(BaseModel):
    deduplicated: bool = Field(
        default=False,
        description="True when this is the stored result of an earlier identical call: nothing was done again.",
    )
    receipt: Receipt | None = Field(
        default=None,
        description="Proof that this call is in the audit chain: keep it, and pass it to verify_audit_chain later "
        "to check that the record is still there, unchanged.",
    )

    def entity_ids(self) -> tuple[str, ...]:
        """What the call created or changed, named in its audit record. Each result says it from its own fields."""
        raise NotImplementedError(f"{type(self).__name__} must name the entities its call touched")

    def audit_outcome(self) -> str:
        """The outcome its audit record names: ok, or the decision it records (an approval's executed, rejected)."""
        return "ok"

    def stored(self) -> dict[str, Any]:
        """What is kept as the answer a replay of this call's idempotency key gets: all of it, unless the result
        holds something shown only once (a webhook secret)."""
        return self.model_dump(mode="json")


class PendingApproval(BaseModel):
    """What a call held for approval answers instead of running (services/approvals.py pending_result): a counted
    money call above its caller's approval_above, or a call a review holds (a sanctions screening, a fraud score)."""

    status: Literal["pending_approval"] = Field(
        description="The call did not run: it waits for the approval of an operator or admin other than you."
    )
    approval_id: str = Field(description="Follow it with get_approval; an operator approves it by this id.")
    expires_at: datetime = Field(description="Unless approved before this, it expires and never runs.")
    message: str = Field(description="What happens if it is approved.")
    tool: str
    amount: MoneyOut | None = Field(description="What the call would spend; null for a call that spends nothing.")
    entity_ids: list[str]
    deduplicated: bool = Field(default=False, description="True when this is the stored answer of an earlier call.")
    receipt: Receipt | None = None


def or_pending(schema: dict[str, Any]) -> dict[str, Any]:
    """The output schema of a money tool whose call may be held for approval: its own result, or PendingApproval."""
    own = dict(schema)
    pending = PendingApproval.model_json_schema()
    defs = {**own.pop("$defs", {}), **pending.pop("$defs", {})}
    return {"type": "object", "anyOf": [own, pending], **({"$defs": defs} if defs else {})}


class Charted(BaseModel):
    """A read result that may carry a chart (a PNG) and a text summary for clients that show no images: the
    toolbox then answers with both beside the structured result (Toolbox._run)."""

    _png: bytes | None = PrivateAttr(default=None)
    _summary: str = PrivateAttr(default="")

    def with_chart(self, png: bytes, summary: str) -> Self:
        self._png, self._summary = png, summary
        return self

    def charted(self) -> CallToolResult | None:
        if self._png is None:
            return None
        return CallToolResult(
            content=[
                TextContent(type="text", text=self._summary),
                ImageContent(type="image", data=base64.b64encode(self._png).decode(), mime_type="image/png"),
                TextContent(type="text", text=self.model_dump_json()),
            ],
            structured_content=self.model_dump(mode="json"),
        )
