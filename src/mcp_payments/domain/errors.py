"""One tree of domain errors. Every class carries a stable `code` an agent can branch on.

DomainError
├── InvalidInput                  invalid_argument
│   ├── InvalidAmount             invalid_amount
│   ├── UnknownCurrency           unknown_currency
│   ├── InvalidCursor             invalid_cursor
│   ├── SameAccount               same_account
│   ├── InvalidCard               invalid_card
│   ├── UnknownPaymentMethod      unknown_payment_method
│   ├── InvalidSignature          invalid_signature
│   ├── InvalidClockAdvance       invalid_clock_advance (not forward, past two years, or a malformed duration)
│   ├── InvalidRange              invalid_range         (a date range inverted, too long, or a bad time zone)
│   └── InvalidSanctionsList      invalid_sanctions_list (a list file not in the SDN CSV format: file and line)
├── NotFound                      not_found
│   ├── WalletNotFound            wallet_not_found
│   ├── HoldNotFound              hold_not_found
│   ├── CustomerNotFound          customer_not_found
│   ├── PaymentNotFound           payment_not_found
│   ├── ApiKeyNotFound            api_key_not_found
│   ├── PolicyNotFound            policy_not_found
│   ├── PlanNotFound              plan_not_found
│   ├── SubscriptionNotFound      subscription_not_found
│   ├── InvoiceNotFound           invoice_not_found
│   ├── ApprovalNotFound          approval_not_found
│   ├── MandateNotFound           mandate_not_found     (unknown, or another principal's: the same answer)
│   ├── WebhookEndpointNotFound   webhook_endpoint_not_found
│   ├── WebhookDeliveryNotFound   webhook_delivery_not_found
│   └── ComplianceFlagNotFound    compliance_flag_not_found
├── Rejected                      rejected
│   ├── CardDeclined              card_declined         (the payment is kept; retryable per decline code)
│   ├── InvalidStateTransition    invalid_state
│   ├── CaptureExceedsAuthorized  capture_exceeds_authorized
│   ├── RefundExceedsCaptured     refund_exceeds_captured
│   ├── PaymentNotAllocatable     payment_not_allocatable
│   ├── InsufficientFunds         insufficient_funds
│   ├── BalanceLimitExceeded      balance_limit_exceeded
│   ├── CurrencyMismatch          currency_mismatch
│   ├── HoldNotActive             hold_not_active
│   ├── HoldExpired               hold_expired
│   ├── CaptureExceedsHold        capture_exceeds_hold
│   ├── FxRateUnavailable         fx_rate_unavailable
│   ├── IdempotencyConflict       idempotency_conflict
│   ├── LimitExceeded             limit_exceeded        (a spending limit: which, what remains, when it resets)
│   ├── ApprovalNotPending        approval_not_pending  (decided, executed or expired already)
│   ├── SelfApproval              self_approval         (the requester cannot decide its own request)
│   ├── CannotHoldForApproval     approval_needs_saved_payment_method (a raw card number is never stored)
│   ├── ApprovedCallFailed        approved_call_failed  (approved, but the call failed when it ran)
│   ├── ApprovalDeclined          approval_declined     (the human at the requester's client said no in the chat)
│   ├── PayeeNotAllowed           payee_not_allowed     (the spending policy's or the mandate's payee lists)
│   ├── MandateExhausted          mandate_exhausted     (over its per-payment maximum or what is left this period)
│   ├── MandateExpired            mandate_expired
│   ├── MandateRevoked            mandate_revoked
│   ├── RiskBlocked               risk_blocked          (the payment's fraud score is at the block threshold)
│   ├── PlanChangeDeclined        plan_change_declined  (always_invoice's charge failed: nothing was changed)
│   ├── SandboxOnly               sandbox_only          (the payment provider is not the sandbox)
│   ├── SanctionsBlocked          sanctions_blocked     (a screening of the payee or customer decided block)
│   ├── SanctionsReviewRequired   sanctions_review_required (a review hit, on a server that cannot hold the call)
│   ├── FlagAlreadyResolved       compliance_flag_resolved
│   ├── SelfResolution            self_resolution       (a flag's own principal cannot resolve it)
│   └── InsufficientHistory       insufficient_history  (a forecast needs more history than the range holds)
├── PermissionDenied              permission_denied     (protocol errors: the call is refused, not failed)
│   ├── ToolDisabled              tool_disabled         (this deployment does not expose the tool)
│   ├── RoleRequired              role_required         (the caller's role may not call the tool)
│   └── NotAuthenticated          not_authenticated     (no caller: a key unknown, revoked or expired)
├── DataError                     data_error            (a value the database cannot hold; not retryable)
└── Unavailable                   service_unavailable   (retryable)
    ├── Contention                contention            (retryable)
    ├── ProviderUnavailable       provider_unavailable  (retryable)
    └── ClockAdvanceInProgress    clock_advance_in_progress (retryable: another call is advancing the clock)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error the agent may see. `message` says what to do next."""

    code: ClassVar[str] = "domain_error"
    retryable: bool = False
    # True when the failure is itself a result to keep: the call commits what it did (a declined
    # payment stays on record) and a retry with the same idempotency key gets the same error.
    keeps_effects: ClassVar[bool] = False
    # True for a refusal by the caller's controls (a named limit, a payee list, a failed approved call): it rolls
    # back, then its audit record is written in a transaction of its own (services/calls.py).
    audited_refusal: ClassVar[bool] = False
    # What an audited refusal also writes in that transaction (a failed approval's outcome), given the unit of work.
    afterwards: Callable[[Any], Awaitable[None]] | None = None

    def __init__(
        self, message: str, *, retryable: bool | None = None, entities: tuple[str, ...] = (), **details: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        # What a kept failure changed (the declined payment), for its audit record.
        self.entities = entities
        if retryable is not None:
            self.retryable = retryable


class InvalidInput(DomainError):
    code = "invalid_argument"


class InvalidAmount(InvalidInput):
    code = "invalid_amount"


class UnknownCurrency(InvalidInput):
    code = "unknown_currency"


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"


class SameAccount(InvalidInput):
    code = "same_account"


class InvalidCard(InvalidInput):
    code = "invalid_card"


class UnknownPaymentMethod(InvalidInput):
    code = "unknown_payment_method"


class InvalidSignature(InvalidInput):
    code = "invalid_signature"


class InvalidClockAdvance(InvalidInput):
    code = "invalid_clock_advance"


class InvalidRange(InvalidInput):
    code = "invalid_range"


class InvalidSanctionsList(InvalidInput):
    """A sanctions list file that is not in the OFAC SDN CSV format; the message names the file and the line."""

    code = "invalid_sanctions_list"


class NotFound(DomainError):
    code = "not_found"


class WalletNotFound(NotFound):
    code = "wallet_not_found"


class HoldNotFound(NotFound):
    code = "hold_not_found"


class CustomerNotFound(NotFound):
    code = "customer_not_found"


class PaymentNotFound(NotFound):
    code = "payment_not_found"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


class ApprovalNotFound(NotFound):
    code = "approval_not_found"


class PolicyNotFound(NotFound):
    code = "policy_not_found"


class MandateNotFound(NotFound):
    code = "mandate_not_found"


class PlanNotFound(NotFound):
    code = "plan_not_found"


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"


class WebhookEndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"


class WebhookDeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"


class ComplianceFlagNotFound(NotFound):
    code = "compliance_flag_not_found"


class Rejected(DomainError):
    code = "rejected"


class CardDeclined(Rejected):
    code = "card_declined"
    keeps_effects = True


class InvalidStateTransition(Rejected):
    code = "invalid_state"


class PlanChangeDeclined(Rejected):
    """A plan change invoiced at once (always_invoice) whose charge failed: the change is not made."""

    code = "plan_change_declined"


class CaptureExceedsAuthorized(Rejected):
    code = "capture_exceeds_authorized"


class RefundExceedsCaptured(Rejected):
    code = "refund_exceeds_captured"


class PaymentNotAllocatable(Rejected):
    code = "payment_not_allocatable"


class InsufficientFunds(Rejected):
    code = "insufficient_funds"


class BalanceLimitExceeded(Rejected):
    """The posting would take a balance past the ledger's limits (domain/money.py)."""

    code = "balance_limit_exceeded"


class CurrencyMismatch(Rejected):
    code = "currency_mismatch"


class HoldNotActive(Rejected):
    code = "hold_not_active"


class HoldExpired(Rejected):
    code = "hold_expired"


class CaptureExceedsHold(Rejected):
    code = "capture_exceeds_hold"


class FxRateUnavailable(Rejected):
    code = "fx_rate_unavailable"


class IdempotencyConflict(Rejected):
    code = "idempotency_conflict"


class LimitExceeded(Rejected):
    """The call would pass one of its caller's spending limits (domain/limits.py); details name the limit, what
    remains of it and when it frees up."""

    code = "limit_exceeded"
    audited_refusal = True


class PayeeNotAllowed(Rejected):
    code = "payee_not_allowed"
    audited_refusal = True


class ApprovalNotPending(Rejected):
    code = "approval_not_pending"


class SelfApproval(Rejected):
    code = "self_approval"


class CannotHoldForApproval(Rejected):
    code = "approval_needs_saved_payment_method"


class ApprovedCallFailed(Rejected):
    """An approved call that failed when it ran: nothing moved, and the approval is recorded as failed."""

    code = "approved_call_failed"
    audited_refusal = True


class ApprovalDeclined(Rejected):
    """The human at the requester's client declined the held call when the server asked in the chat: the approval
    is rejected and the call never runs."""

    code = "approval_declined"


class MandateExhausted(Rejected):
    """The call is over the mandate's maximum per payment or what is left of it this period; details say what
    remains and when it resets."""

    code = "mandate_exhausted"
    audited_refusal = True


class MandateExpired(Rejected):
    code = "mandate_expired"
    audited_refusal = True


class MandateRevoked(Rejected):
    """Kept apart from mandate_expired: a revoked mandate is a human's decision, not the passing of time."""

    code = "mandate_revoked"
    audited_refusal = True


class RiskBlocked(Rejected):
    """The payment's fraud score (domain/risk.py) is at or above the block threshold: nothing was charged; the
    message and details give the score and its reasons, and list_fraud_alerts keeps them."""

    code = "risk_blocked"
    audited_refusal = True


class SandboxOnly(Rejected):
    code = "sandbox_only"


class SanctionsBlocked(Rejected):
    """A screening of the party the call pays (or the customer it creates) decided block: nothing was done; the
    screening and a compliance flag are recorded (services/counterparties.py)."""

    code = "sanctions_blocked"
    audited_refusal = True


class SanctionsReviewRequired(Rejected):
    """A screening decided review, and this deployment cannot hold the call for approval (no controls toolset)."""

    code = "sanctions_review_required"
    audited_refusal = True


class FlagAlreadyResolved(Rejected):
    code = "compliance_flag_resolved"


class SelfResolution(Rejected):
    code = "self_resolution"


class InsufficientHistory(Rejected):
    code = "insufficient_history"


class PermissionDenied(DomainError):
    code = "permission_denied"


class ToolDisabled(PermissionDenied):
    code = "tool_disabled"


class RoleRequired(PermissionDenied):
    code = "role_required"


class NotAuthenticated(PermissionDenied):
    code = "not_authenticated"


class DataError(DomainError):
    """The database refused or cannot compute with a value (out of range, malformed). Never unavailability:
    retrying does not help."""

    code = "data_error"


class Unavailable(DomainError):
    code = "service_unavailable"
    retryable = True


class Contention(Unavailable):
    """The database gave up on a lock or serialization; the whole call may be retried."""

    code = "contention"


class ProviderUnavailable(Unavailable):
    """The payment provider did not answer; nothing was charged."""

    code = "provider_unavailable"


class ClockAdvanceInProgress(Unavailable):
    """Another call is advancing the sandbox clock; this one may be made again once it is done."""

    code = "clock_advance_in_progress"


class StoredError(DomainError):
    """A kept failure given back from idempotency storage: the same code and message as the first time."""

    def __init__(self, code: str, message: str, *, retryable: bool, **details: Any) -> None:
        super().__init__(message, retryable=retryable, **details)
        self.stored_code = code


def all_error_classes() -> list[type[DomainError]]:
    """Every DomainError subclass, the root included, for the mapping test."""
    found: list[type[DomainError]] = [DomainError]
    for cls in found:
        found.extend(c for c in cls.__subclasses__() if c not in found)
    return found
