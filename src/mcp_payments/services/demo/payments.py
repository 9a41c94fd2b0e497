"""One-off card payments of a demo history, and what follows them: 3-D Secure, refunds, disputes, expiry.

Each payment's whole life is drawn when it is made, so its row is written once, final; what happens later
(a confirmation, a refund, a dispute, a failed refund's reversal) is scheduled and recorded at its own time,
with the postings and audit records the server makes (services/payments/).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mcp_payments.domain.ledger import AccountType, Entry, JournalTransaction, system_account_id
from mcp_payments.domain.payments import fee_for
from mcp_payments.services.demo.recorder import Recorder, Row
from mcp_payments.services.demo.spec import REFUNDED, THREE_D_SECURE_COMPLETED

SYSTEM = "system"  # services/calls.py SYSTEM_PRINCIPAL: who background work is recorded as
ACTION_TTL = timedelta(days=1)  # config.py action_ttl: requires_action payments are canceled after it
DECLINE_MESSAGES = {  # adapters/providers/sandbox.py
    "card_declined": "the card was declined",
    "insufficient_funds": "the card has insufficient funds",
    "lost_card": "the card is reported lost",
    "stolen_card": "the card is reported stolen",
    "expired_card": "the card has expired",
    "incorrect_cvc": "the CVC is incorrect",
    "processing_error": "the card could not be processed",
}

Schedule = Callable[[datetime, Callable[[], None]], None]


@dataclass(frozen=True, slots=True)
class Card:
    token: str
    brand: str
    last4: str
    fingerprint: str
    scenario: str


def account(kind: AccountType, currency: str) -> str:
    return system_account_id(kind, currency)


class PaymentMaker:
    def __init__(self, rec: Recorder, rng: random.Random, schedule: Schedule, end: datetime, operator: str) -> None:
        self.rec = rec
        self.rng = rng
        self.schedule = schedule
        self.end = end
        self.operator = operator

    def row(self, pid: str, card: Card, amount: int, currency: str, customer: str | None, at: datetime) -> Row:
        return {
            "id": pid,
            "amount": amount,
            "currency": currency,
            "customer_id": customer,
            "status": "succeeded",
            "capture_method": "automatic",
            "amount_capturable": 0,
            "amount_received": 0,
            "amount_refunded": 0,
            "amount_allocated": 0,
            "fee": 0,
            "card_brand": card.brand,
            "card_last4": card.last4,
            "card_exp_month": 12,
            "card_exp_year": at.year + 3,
            "card_fingerprint": card.fingerprint,
            "scenario": card.scenario,
            "decline_code": None,
            "failure_message": None,
            "description": None,
            "disputed": False,
            "created_at": at,
            "updated_at": at,
            "authorization_expires_at": None,
            "canceled_at": None,
            "cancellation_reason": None,
        }

    def attempt(self, pid: str, action: str, outcome: str, at: datetime, code: str | None = None) -> None:
        self.rec.add(
            "payment_attempts",
            {"payment_id": pid, "action": action, "outcome": outcome, "decline_code": code, "created_at": at},
        )

    def event(self, pid: str, type: str, at: datetime, **data: Any) -> None:
        from mcp_payments.domain.audit import canonical_json

        self.rec.add(
            "payment_events", {"payment_id": pid, "type": type, "data": canonical_json(data), "created_at": at}
        )

    def capture(self, p: Row, at: datetime) -> JournalTransaction:
        """external -> clearing -> merchant (net) + fees, as PaymentService._post_capture posts it."""
        cur, received = p["currency"], p["amount"]
        fee = min(received, fee_for(received, 290, 30))
        self.rec.change("payments", p, amount_received=received, fee=fee, status="succeeded", updated_at=at)
        entries = [
            Entry(account(AccountType.EXTERNAL, cur), -received, cur),
            Entry(account(AccountType.CLEARING, cur), received, cur),
            Entry(account(AccountType.CLEARING, cur), -received, cur),
            Entry(account(AccountType.MERCHANT, cur), received - fee, cur),
            Entry(account(AccountType.FEES, cur), fee, cur),
        ]
        txn = self.rec.post("payment_capture", entries, f"capture of {p['id']}", at, p["id"])
        self.event(p["id"], "payment.succeeded", at, amount=received, fee=fee)
        return txn

    def move(
        self, kind: str, p: Row, amount: int, source: AccountType, target: AccountType, memo: str, at: datetime
    ) -> JournalTransaction:
        """source -> clearing -> target between system accounts (PaymentBooks.move)."""
        cur = p["currency"]
        clearing = account(AccountType.CLEARING, cur)
        entries = [
            Entry(account(source, cur), -amount, cur),
            Entry(clearing, amount, cur),
            Entry(clearing, -amount, cur),
            Entry(account(target, cur), amount, cur),
        ]
        return self.rec.post(kind, entries, memo, at, p["id"])

    def create(self, card: Card, amount: int, currency: str, customer: str | None, at: datetime) -> None:
        """create_payment with a test token: its row, attempt, events, capture and audit record."""
        pid = self.rec.new_id("pay", at)
        p = self.row(pid, card, amount, currency, customer, at)
        self.rec.add("payments", p)
        self.rec.batch.payments += 1
        arguments = {
            "amount_minor": amount,
            "currency": currency,
            "payment_method": card.token,
            "customer_id": customer,
        }
        self.event(pid, "payment.created", at, amount=amount, capture_method="automatic")
        if card.scenario.startswith("declined:"):
            code = card.scenario.split(":", 1)[1]
            self.rec.change(
                "payments",
                p,
                status="requires_payment_method",
                decline_code=code,
                failure_message=DECLINE_MESSAGES[code],
            )
            self.attempt(pid, "authorize", "declined", at, code)
            self.event(pid, "payment.failed", at, decline_code=code)
            self.rec.record("create_payment", at, arguments, [pid], outcome="card_declined")
            return
        if card.scenario == "requires_action":
            self.rec.change("payments", p, status="requires_action")
            self.attempt(pid, "authorize", "requires_action", at)
            self.event(pid, "payment.requires_action", at)
            self.rec.record("create_payment", at, arguments, [pid])
            if self.rng.random() < THREE_D_SECURE_COMPLETED:
                self.later(at + timedelta(seconds=self.rng.randint(20, 900)), lambda t: self.confirm(p, t))
            else:
                self.later(at + ACTION_TTL + timedelta(seconds=self.rng.randint(1, 60)), lambda t: self.expire(p, t))
            return
        self.attempt(pid, "authorize", "approved", at)
        txn = self.capture(p, at)
        self.rec.record("create_payment", at, arguments, [pid], [txn])
        self.aftermath(p, at)

    def later(self, at: datetime, action: Callable[[datetime], None]) -> None:
        """Run `action` at `at`, if that is inside the history."""
        if at < self.end:
            self.schedule(at, lambda: action(at))

    def confirm(self, p: Row, at: datetime) -> None:
        self.attempt(p["id"], "confirm", "approved", at)
        txn = self.capture(p, at)
        self.rec.record("confirm_payment", at, {"payment_id": p["id"]}, [p["id"]], [txn])
        self.aftermath(p, at)

    def expire(self, p: Row, at: datetime) -> None:
        self.rec.change(
            "payments", p, status="canceled", canceled_at=at, cancellation_reason="action_timeout", updated_at=at
        )
        self.event(p["id"], "payment.canceled", at, reason="action_timeout")
        self.rec.record("expire_payments", at, {}, [p["id"]], principal=SYSTEM)

    def aftermath(self, p: Row, at: datetime) -> None:
        """A captured payment's later life: a dispute, or perhaps a refund (which may fail later)."""
        if p["scenario"] == "disputed":
            self.later(at + timedelta(days=self.rng.uniform(1, 20)), lambda t: self.dispute(p, t))
        elif self.rng.random() < (0.5 if p["scenario"] == "refund_fails" else REFUNDED):
            full = self.rng.random() < 0.5
            amount = p["amount"] if full else max(1, p["amount"] * self.rng.randint(10, 90) // 100)
            self.later(at + timedelta(days=self.rng.uniform(0.1, 25)), lambda t: self.refund(p, amount, t))

    def dispute(self, p: Row, at: datetime) -> None:
        amount = p["amount_received"] - p["amount_refunded"]
        self.rec.change("payments", p, disputed=True, updated_at=at)
        journal = []
        if amount > 0:
            memo = f"dispute of {p['id']}"
            journal.append(self.move("dispute", p, amount, AccountType.MERCHANT, AccountType.DISPUTES, memo, at))
        self.event(p["id"], "payment.disputed", at, amount=amount)
        self.rec.record("provider_event", at, {}, [p["id"]], journal, principal=SYSTEM)

    def refund(self, p: Row, amount: int, at: datetime) -> None:
        if p["disputed"]:
            return
        rid = self.rec.new_id("ref", at)
        fails = p["scenario"] == "refund_fails"
        refund = {
            "id": rid,
            "payment_id": p["id"],
            "amount": amount,
            "currency": p["currency"],
            "status": "pending" if fails else "succeeded",
            "reason": "requested_by_customer",
            "failure_reason": None,
            "created_at": at,
            "updated_at": at,
        }
        self.rec.add("refunds", refund)
        self.rec.change("payments", p, amount_refunded=p["amount_refunded"] + amount, updated_at=at)
        txn = self.move(
            "refund", p, amount, AccountType.MERCHANT, AccountType.EXTERNAL, f"refund {rid} of {p['id']}", at
        )
        self.event(p["id"], f"refund.{refund['status']}", at, refund_id=rid, amount=amount)
        arguments = {"payment_id": p["id"], "amount_minor": amount, "reason": "requested_by_customer"}
        self.rec.record("refund_payment", at, arguments, [p["id"], rid], [txn], principal=self.operator)
        if fails:
            self.later(at + timedelta(minutes=self.rng.randint(1, 120)), lambda t: self.refund_failed(p, refund, t))

    def refund_failed(self, p: Row, refund: Row, at: datetime) -> None:
        """The provider's refund.failed: the refund fails and its posting is reversed by a new transaction."""
        self.rec.change(
            "refunds", refund, status="failed", failure_reason="the card issuer refused the refund", updated_at=at
        )
        self.rec.change("payments", p, amount_refunded=p["amount_refunded"] - refund["amount"], updated_at=at)
        memo = f"failed refund {refund['id']}"
        txn = self.move("refund_reversal", p, refund["amount"], AccountType.EXTERNAL, AccountType.MERCHANT, memo, at)
        self.event(p["id"], "refund.failed", at, refund_id=refund["id"], amount=refund["amount"])
        self.rec.record("provider_event", at, {}, [refund["id"]], [txn], principal=SYSTEM)
