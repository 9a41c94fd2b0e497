"""The one structlog configuration: stderr only (stdout is the protocol on stdio)."""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar, Token
from typing import Any

import structlog

_SECRET_KEYS = re.compile(r"(card|number|cvc|cvv|secret|token|password|email|authorization)", re.I)
# Any 13-19 digit run (a card number would be one) is cut down to its last four digits.
_LONG_DIGITS = re.compile(r"\d(?:[ -]?\d){12,18}")


# The tool call being served: its fields go on every line logged meanwhile (the server's registry sets it).
# One ContextVar read per line, where structlog's merge_contextvars copies the whole context.
_call_context: ContextVar[Mapping[str, str] | None] = ContextVar("mcp_payments_call_context", default=None)


def bind_call(**fields: str) -> Token[Mapping[str, str] | None]:
    return _call_context.set(fields)


def unbind_call(token: Token[Mapping[str, str] | None]) -> None:
    _call_context.reset(token)


def merge_call_context(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in (_call_context.get() or {}).items():
        event.setdefault(key, value)
    return event


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if _is_secret(key):
            event[key] = "[redacted]"
        elif isinstance(value, str) and len(value) >= 13 and _LONG_DIGITS.search(value):
            event[key] = _LONG_DIGITS.sub(lambda m: "****" + re.sub(r"\D", "", m.group())[-4:], value)
    return event


@functools.lru_cache(maxsize=1024)
def _is_secret(key: str) -> bool:
    # Log keys are a small fixed set: each is classified once, not on every line.
    return key != "event" and _SECRET_KEYS.search(key) is not None


def configure(level: str = "INFO") -> None:
    handler_level = getattr(logging, level.upper(), logging.INFO)
    logging.basicConfig(stream=sys.stderr, level=max(handler_level, logging.WARNING), format="%(message)s")
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False) if sys.stderr.isatty() else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            merge_call_context,
            redact,  # before the level and the timestamp, which need no redaction
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(handler_level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,  # configured once per process, before the first log line
    )
