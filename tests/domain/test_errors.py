import inspect
import re

import pytest

from mcp_payments.domain import errors
from mcp_payments.domain.errors import DomainError, StoredError, all_error_classes

pytestmark = pytest.mark.anyio

# The codes agents branch on: changing one breaks clients, so each is pinned here.
STABLE_CODES = {
    "DomainError": "domain_error",
    "InvalidInput": "invalid_argument",
    "InvalidAmount": "invalid_amount",
    "UnknownCurrency": "unknown_currency",
    "InvalidCursor": "invalid_cursor",
    "SameAccount": "same_account",
    "InvalidCard": "invalid_card",
    "UnknownPaymentMethod": "unknown_payment_method",
    "InvalidSignature": "invalid_signature",
    "InvalidRange": "invalid_range",
    "InvalidSanctionsList": "invalid_sanctions_list",
    "NotFound": "not_found",
    "WalletNotFound": "wallet_not_found",
    "HoldNotFound": "hold_not_found",
    "CustomerNotFound": "customer_not_found",
    "PaymentNotFound": "payment_not_found",
    "ApiKeyNotFound": "api_key_not_found",
    "PolicyNotFound": "policy_not_found",
    "PlanNotFound": "plan_not_found",
    "SubscriptionNotFound": "subscription_not_found",
    "InvoiceNotFound": "invoice_not_found",
    "MandateNotFound": "mandate_not_found",
    "WebhookEndpointNotFound": "webhook_endpoint_not_found",
    "WebhookDeliveryNotFound": "webhook_delivery_not_found",
    "Rejected": "rejected",
    "CardDeclined": "card_declined",
    "InvalidStateTransition": "invalid_state",
    "PlanChangeDeclined": "plan_change_declined",
    "CaptureExceedsAuthorized": "capture_exceeds_authorized",
    "RefundExceedsCaptured": "refund_exceeds_captured",
    "PaymentNotAllocatable": "payment_not_allocatable",
    "InsufficientFunds": "insufficient_funds",
    "BalanceLimitExceeded": "balance_limit_exceeded",
    "CurrencyMismatch": "currency_mismatch",
    "HoldNotActive": "hold_not_active",
    "HoldExpired": "hold_expired",
    "CaptureExceedsHold": "capture_exceeds_hold",
    "FxRateUnavailable": "fx_rate_unavailable",
    "IdempotencyConflict": "idempotency_conflict",
    "LimitExceeded": "limit_exceeded",
    "PayeeNotAllowed": "payee_not_allowed",
    "MandateExhausted": "mandate_exhausted",
    "MandateExpired": "mandate_expired",
    "MandateRevoked": "mandate_revoked",
    "RiskBlocked": "risk_blocked",
    "InsufficientHistory": "insufficient_history",
    "ApprovalNotFound": "approval_not_found",
    "ApprovalNotPending": "approval_not_pending",
    "ApprovedCallFailed": "approved_call_failed",
    "ApprovalDeclined": "approval_declined",
    "CannotHoldForApproval": "approval_needs_saved_payment_method",
    "SelfApproval": "self_approval",
    "PermissionDenied": "permission_denied",
    "ToolDisabled": "tool_disabled",
    "RoleRequired": "role_required",
    "NotAuthenticated": "not_authenticated",
    "DataError": "data_error",
    "Unavailable": "service_unavailable",
    "Contention": "contention",
    "ProviderUnavailable": "provider_unavailable",
    "InvalidClockAdvance": "invalid_clock_advance",
    "SandboxOnly": "sandbox_only",
    "ClockAdvanceInProgress": "clock_advance_in_progress",
    "ComplianceFlagNotFound": "compliance_flag_not_found",
    "SanctionsBlocked": "sanctions_blocked",
    "SanctionsReviewRequired": "sanctions_review_required",
    "FlagAlreadyResolved": "compliance_flag_resolved",
    "SelfResolution": "self_resolution",
}


def coded_classes() -> list[type[DomainError]]:
    """Every error class with a code of its own. StoredError only carries a replayed error's code."""
    return [cls for cls in all_error_classes() if cls is not StoredError]


def test_all_error_classes_finds_every_domain_error_in_the_errors_module() -> None:
    defined = {
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, DomainError) and cls.__module__ == errors.__name__
    }

    assert set(all_error_classes()) == defined
    assert len(all_error_classes()) == len(defined)


def test_every_domain_error_has_its_pinned_stable_code() -> None:
    assert {cls.__name__: cls.code for cls in coded_classes()} == STABLE_CODES


@pytest.mark.parametrize("cls", coded_classes(), ids=lambda c: c.__name__)
def test_every_domain_error_declares_its_own_snake_case_code(cls: type[DomainError]) -> None:
    assert "code" in vars(cls), f"{cls.__name__} inherits its code instead of declaring one"
    assert re.fullmatch(r"[a-z]+(_[a-z]+)*", cls.code)


def test_no_two_domain_errors_share_a_code() -> None:
    codes = [cls.code for cls in coded_classes()]

    assert len(codes) == len(set(codes))


def test_a_stored_error_replays_the_code_message_and_retryability_of_the_first_failure() -> None:
    replayed = StoredError("card_declined", "the card was declined", retryable=True, decline_code="do_not_honor")

    assert replayed.stored_code == "card_declined"
    assert replayed.stored_code in STABLE_CODES.values()
    assert (replayed.message, replayed.retryable) == ("the card was declined", True)
    assert replayed.details == {"decline_code": "do_not_honor"}


def test_the_error_tree_in_the_module_docstring_lists_every_class_with_its_code() -> None:
    doc = errors.__doc__ or ""
    for cls in coded_classes()[1:]:  # the root is drawn bare, as the tree's top
        assert re.search(rf"\b{cls.__name__}\s+{cls.code}\b", doc), cls.__name__


def test_only_unavailability_is_retryable_by_default() -> None:
    for cls in coded_classes():
        assert cls.retryable is issubclass(cls, errors.Unavailable), cls.__name__


def test_a_domain_error_carries_its_message_and_details() -> None:
    error = errors.InsufficientFunds("not enough", wallet_id="wal_1", available="1.00")

    assert str(error) == error.message == "not enough"
    assert error.details == {"wallet_id": "wal_1", "available": "1.00"}
    assert isinstance(error, errors.Rejected)
    assert not error.keeps_effects


def test_a_failure_keeps_its_effects_only_when_it_is_itself_a_result() -> None:
    keeping = {cls.__name__ for cls in all_error_classes() if cls.keeps_effects}

    assert keeping == {"CardDeclined"}
