"""The ONE place a DomainError becomes what the client sees.

Agent-actionable failures are tool errors (isError) whose text is the JSON
`{code, message, retryable, details}`. Permission failures are protocol errors (MCPError).
Nothing else escapes: no traceback, no SQL, no secret.
"""

from __future__ import annotations

import json
import uuid
from enum import Enum
from typing import Any

import structlog
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent
from pydantic import ValidationError

from mcp_payments.domain import errors as e
from mcp_payments.domain.cards import mask_card_numbers


class Channel(Enum):
    TOOL_ERROR = "tool_error"
    PROTOCOL_ERROR = "protocol_error"


# A permission failure is a protocol error (DESIGN §3); every other DomainError, a new category's too, is a
# tool error the agent reads. The subclasses of these are protocol errors as well.
PROTOCOL_ERRORS: tuple[type[e.DomainError], ...] = (e.PermissionDenied,)


def channel(cls: type[e.DomainError]) -> Channel:
    return Channel.PROTOCOL_ERROR if issubclass(cls, PROTOCOL_ERRORS) else Channel.TOOL_ERROR


# JSON-RPC code for a refused call (the server's range).
PERMISSION_DENIED = -32003


def to_result(error: e.DomainError, *, keyed: bool = False) -> CallToolResult:
    """The tool error for `error`. `keyed`: the call took an idempotency key, and the answer says what became of it."""
    if channel(type(error)) is Channel.PROTOCOL_ERROR:
        raise refusal(error)
    code = error.stored_code if isinstance(error, e.StoredError) else error.code
    if not keyed:
        return _error(code, error.message, error.retryable, error.details)
    reusable = key_reusable(error)
    note = (
        "Nothing was changed and the idempotency key was not used: retrying with the same key is safe."
        if reusable
        else "This idempotency key now holds this outcome: a new attempt needs a new key."
    )
    return _error(
        code,
        f"{error.message.rstrip('.')}. {note}",
        error.retryable,
        {**error.details, "idempotency_key_reusable": reusable},
    )


def refusal(error: e.DomainError) -> MCPError:
    """The protocol error that refuses a call or a listing (a permission failure): the code, and what the caller
    needs to know to act (the role needed and its own, for role_required)."""
    data = {"code": error.code, **({"details": _masked(error.details)} if error.details else {})}
    return MCPError(code=PERMISSION_DENIED, message=mask_card_numbers(error.message), data=data)


def key_reusable(error: e.DomainError) -> bool:
    """Whether the same idempotency key may be sent again and act. A refusal stores nothing under the key (it
    changed nothing, so a later success with the same key cannot pay twice); an outcome that was kept (a
    decline) is given back for that key from then on; a conflict means the key belongs to another request."""
    return not (error.keeps_effects or isinstance(error, e.StoredError | e.IdempotencyConflict))


def invalid_arguments(tool: str, error: ValidationError) -> CallToolResult:
    """Schema failures, described by field and rule, never by the rejected value (it may be a secret)."""
    problems = [
        {"field": ".".join(str(p) for p in err["loc"]) or "(arguments)", "problem": err["msg"]}
        for err in error.errors(include_url=False, include_input=False)
    ]
    summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
    return _error(
        "invalid_argument",
        f"invalid arguments for {tool}: {summary}. Fix these fields (see the tool's input schema) and call again",
        False,
        {"problems": problems},
    )


def unknown_arguments(tool: str, names: list[str]) -> CallToolResult:
    problems = [{"field": n, "problem": "not an argument of this tool"} for n in names]
    return _error(
        "invalid_argument",
        f"invalid arguments for {tool}: unknown argument(s) {', '.join(names)[:200]}; "
        "see the tool's input schema for the argument names",
        False,
        {"problems": problems},
    )


def internal_error() -> CallToolResult:
    """A failure nobody foresaw. Not retryable: the same call would most likely fail the same way."""
    incident = uuid.uuid4().hex[:12]
    structlog.get_logger("mcp_payments.errors").error("internal_error", incident=incident)
    return _error(
        "internal_error",
        f"the server failed unexpectedly (incident {incident}); its transaction was rolled back unless the call "
        "had already completed. Do not repeat the call unchanged: report the incident to the operator, and read "
        "the state (get_payment, get_wallet) before acting again; a retry with the same idempotency key never "
        "acts twice",
        False,
        {"incident": incident},
    )


def _error(code: str, message: str, retryable: bool, details: dict[str, Any]) -> CallToolResult:
    # Messages and details may echo what the caller sent (an unknown argument's name, a key, an id): a card
    # number typed there is masked like one typed into free text.
    body = {"code": code, "message": mask_card_numbers(message), "retryable": retryable, "details": _masked(details)}
    # No structuredContent: clients validate it against the tool's outputSchema, which describes success.
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(body))], is_error=True)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_card_numbers(value)
    if isinstance(value, dict):
        return {mask_card_numbers(str(k)): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value
