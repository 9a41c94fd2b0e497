"""One tree of domain errors. Every class carries a stable `code` an agent can branch on.

DomainError
├── InvalidInput                  invalid_argument
│   ├── InvalidAmount             invalid_amount
│   ├── UnknownCurrency           unknown_currency
│   ├── InvalidCursor             invalid_cursor
│   └── SameAccount               same_account
├── NotFound                      not_found
│   ├── WalletNotFound            wallet_not_found
│   └── HoldNotFound              hold_not_found
├── Rejected                      rejected
│   ├── InsufficientFunds         insufficient_funds
│   ├── CurrencyMismatch          currency_mismatch
│   ├── HoldNotActive             hold_not_active
│   ├── HoldExpired               hold_expired
│   ├── CaptureExceedsHold        capture_exceeds_hold
│   ├── FxRateUnavailable         fx_rate_unavailable
│   └── IdempotencyConflict       idempotency_conflict
├── ToolDisabled                  tool_disabled
└── Unavailable                   service_unavailable   (retryable)
    └── Contention                contention            (retryable)
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error the agent may see. `message` says what to do next."""

    code: ClassVar[str] = "domain_error"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


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


class NotFound(DomainError):
    code = "not_found"


class WalletNotFound(NotFound):
    code = "wallet_not_found"


class HoldNotFound(NotFound):
    code = "hold_not_found"


class Rejected(DomainError):
    code = "rejected"


class InsufficientFunds(Rejected):
    code = "insufficient_funds"


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


class ToolDisabled(DomainError):
    code = "tool_disabled"


class Unavailable(DomainError):
    code = "service_unavailable"
    retryable = True


class Contention(Unavailable):
    """The database gave up on a lock or serialization; the whole call may be retried."""

    code = "contention"


def all_error_classes() -> list[type[DomainError]]:
    """Every DomainError subclass, the root included, for the mapping test."""
    found: list[type[DomainError]] = [DomainError]
    for cls in found:
        found.extend(c for c in cls.__subclasses__() if c not in found)
    return found
