"""Payments and refunds: explicit state machines (the vocabulary agents know from Stripe).

A payment is created and confirmed in one step. The provider's answer moves it along:

    requires_action --confirm--> (provider again)
    requires_capture --capture--> succeeded (part of it; the rest is released)
    requires_capture | requires_action | requires_payment_method --cancel/expire--> canceled
    any decline --> requires_payment_method (retry with another card), as Stripe does
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from mcp_payments.domain.cards import PaymentMethod
from mcp_payments.domain.errors import InvalidStateTransition
from mcp_payments.domain.money import Money


class PaymentStatus(StrEnum):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


class PaymentAction(StrEnum):
    AUTHORIZE = "authorize"  # the provider approved; funds reserved for a manual capture
    SUCCEED = "succeed"  # the provider approved and the money is captured
    DECLINE = "decline"
    REQUIRE_ACTION = "require_action"  # 3-D Secure
    CONFIRM = "confirm"  # the customer completed 3-D Secure
    CAPTURE = "capture"
    CANCEL = "cancel"
    EXPIRE = "expire"
    REFUND = "refund"


S, A = PaymentStatus, PaymentAction

# Every allowed (state, action) and where it leads; anything else is refused.
PAYMENT_TRANSITIONS: Mapping[tuple[PaymentStatus, PaymentAction], PaymentStatus] = {
    (S.REQUIRES_CONFIRMATION, A.AUTHORIZE): S.REQUIRES_CAPTURE,
    (S.REQUIRES_CONFIRMATION, A.SUCCEED): S.SUCCEEDED,
    (S.REQUIRES_CONFIRMATION, A.DECLINE): S.REQUIRES_PAYMENT_METHOD,
    (S.REQUIRES_CONFIRMATION, A.REQUIRE_ACTION): S.REQUIRES_ACTION,
    (S.REQUIRES_CONFIRMATION, A.CANCEL): S.CANCELED,
    (S.REQUIRES_ACTION, A.CONFIRM): S.PROCESSING,
    (S.REQUIRES_ACTION, A.CANCEL): S.CANCELED,
    (S.REQUIRES_ACTION, A.EXPIRE): S.CANCELED,
    (S.PROCESSING, A.AUTHORIZE): S.REQUIRES_CAPTURE,
    (S.PROCESSING, A.SUCCEED): S.SUCCEEDED,
    (S.PROCESSING, A.DECLINE): S.REQUIRES_PAYMENT_METHOD,
    (S.REQUIRES_PAYMENT_METHOD, A.CANCEL): S.CANCELED,
    (S.REQUIRES_CAPTURE, A.CAPTURE): S.SUCCEEDED,
    (S.REQUIRES_CAPTURE, A.CANCEL): S.CANCELED,
    (S.REQUIRES_CAPTURE, A.EXPIRE): S.CANCELED,
    (S.SUCCEEDED, A.REFUND): S.SUCCEEDED,
}


_HINTS: Mapping[PaymentAction, str] = {
    A.CAPTURE: "only a payment in requires_capture (manual capture) can be captured",
    A.CONFIRM: "only a payment in requires_action needs confirm_payment",
    A.CANCEL: "a succeeded payment is refunded with refund_payment, not canceled",
    A.REFUND: "only a succeeded payment can be refunded",
}


def next_status(payment_id: str, status: PaymentStatus, action: PaymentAction) -> PaymentStatus:
    target = PAYMENT_TRANSITIONS.get((status, action))
    if target is None:
        hint = _HINTS.get(action, "see get_payment for what it allows")
        raise InvalidStateTransition(
            f"payment {payment_id} is {status.value} and cannot {action.value}: {hint}",
            payment_id=payment_id,
            status=status.value,
            action=action.value,
        )
    return target


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class RefundAction(StrEnum):
    SUCCEED = "succeed"
    FAIL = "fail"
    CANCEL = "cancel"


REFUND_TRANSITIONS: Mapping[tuple[RefundStatus, RefundAction], RefundStatus] = {
    (RefundStatus.PENDING, RefundAction.SUCCEED): RefundStatus.SUCCEEDED,
    (RefundStatus.PENDING, RefundAction.FAIL): RefundStatus.FAILED,
    (RefundStatus.PENDING, RefundAction.CANCEL): RefundStatus.CANCELED,
}


def next_refund_status(refund_id: str, status: RefundStatus, action: RefundAction) -> RefundStatus:
    target = REFUND_TRANSITIONS.get((status, action))
    if target is None:
        raise InvalidStateTransition(
            f"refund {refund_id} is {status.value} and cannot {action.value}",
            refund_id=refund_id,
            status=status.value,
            action=action.value,
        )
    return target


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    amount: int
    currency: str
    customer_id: str | None
    status: PaymentStatus
    capture_method: str  # automatic | manual
    amount_capturable: int
    amount_received: int
    amount_refunded: int  # pending and succeeded refunds
    amount_allocated: int  # moved on into wallets with fund_wallet
    fee: int
    method: PaymentMethod
    decline_code: str | None
    failure_message: str | None
    description: str | None
    disputed: bool
    created_at: datetime
    updated_at: datetime
    authorization_expires_at: datetime | None
    canceled_at: datetime | None
    cancellation_reason: str | None

    @classmethod
    def new(
        cls,
        payment_id: str,
        amount: Money,
        customer_id: str | None,
        capture_method: str,
        method: PaymentMethod,
        description: str | None,
        now: datetime,
    ) -> Payment:
        """A payment about to be confirmed with the provider: nothing authorized, captured or refunded yet."""
        return cls(
            id=payment_id,
            amount=amount.minor,
            currency=amount.currency.code,
            customer_id=customer_id,
            status=PaymentStatus.REQUIRES_CONFIRMATION,
            capture_method=capture_method,
            amount_capturable=0,
            amount_received=0,
            amount_refunded=0,
            amount_allocated=0,
            fee=0,
            method=method,
            decline_code=None,
            failure_message=None,
            description=description,
            disputed=False,
            created_at=now,
            updated_at=now,
            authorization_expires_at=None,
            canceled_at=None,
            cancellation_reason=None,
        )

    def moved(self, action: PaymentAction, now: datetime, **changes: Any) -> Payment:
        status = next_status(self.id, self.status, action)
        return replace(self, status=status, updated_at=now, **changes)

    @property
    def refundable(self) -> int:
        return self.amount_received - self.amount_refunded

    @property
    def allocatable(self) -> int:
        """Net proceeds not yet refunded, disputed nor moved into a wallet."""
        if self.disputed:
            return 0
        return max(0, self.amount_received - self.fee - self.amount_refunded - self.amount_allocated)


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    payment_id: str
    amount: int
    currency: str
    status: RefundStatus
    reason: str | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime


def fee_for(amount: int, percent_bp: int, fixed: int) -> int:
    """Provider fee in minor units: basis points of the amount (rounded half up) plus a fixed part."""
    return (amount * percent_bp + 5_000) // 10_000 + fixed


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    email: str | None
    name: str | None
    description: str | None
    created_at: datetime
    country: str | None = None  # ISO 3166-1 alpha-2: fraud scoring compares a card's country with it
    erased_at: datetime | None = None  # when its personal data was replaced with a pseudonym (services/erasure.py)


@dataclass(frozen=True, slots=True)
class Attempt:
    action: str
    outcome: str
    decline_code: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    type: str
    created_at: datetime
    data: dict[str, Any]
