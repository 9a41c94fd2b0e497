"""The one structlog configuration: stderr only (stdout is the protocol on stdio)."""

from __future__ import annotations

import functools
import logging
import re
import sys
import time
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar, Token
from typing import Any

import orjson

_ABSENT = object()


def _import_structlog_without_rich() -> None:
    """structlog imports rich (for pretty tracebacks) whenever it is installed, and a dev tool (import-linter)
    installs it: 40 ms more at every start, for a renderer we do not use. A None in sys.modules makes
    `import rich` fail as if it were not installed while structlog is imported; rich stays importable after.
    So a server logs the same in the dev venv as in the runtime venv. Only the first import of structlog in the
    process counts: this module must come before any other that imports it (tests/test_startup.py checks)."""
    if "structlog" in sys.modules:
        return
    saved = sys.modules.get("rich", _ABSENT)
    sys.modules["rich"] = None  # type: ignore[assignment]  # None: "not importable", by the import system's rules
    try:
        import structlog  # noqa: F401  # imported here, without rich
    finally:
        if saved is _ABSENT:
            del sys.modules["rich"]
        else:
            sys.modules["rich"] = saved  # type: ignore[assignment]  # the module, or None, as it was


_import_structlog_without_rich()

import structlog  # noqa: E402  # after the function above

from mcp_payments.domain.cards import long_digit_runs, may_hold_card_number  # noqa: E402

get_logger = structlog.get_logger

_SECRET_KEYS = re.compile(r"(card|number|cvc|cvv|secret|token|password|email|authorization)", re.I)


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
        elif isinstance(value, str) and len(value) >= 13 and may_hold_card_number(value):
            event[key] = _mask_long_numbers(value)
    return event


def _mask_long_numbers(text: str) -> str:
    """Every run of 13 or more digits, card number or not, cut to ****last4.

    Stricter than free text gets (mask_card_numbers): a log line may lose an order number, never a card
    number, however it is spelt. The runs are the ones mask_card_numbers looks in, whole."""
    out: list[str] = []
    done = 0
    for run in long_digit_runs(text):
        out += (text[done : run.start], "****", run.digits[-4:])
        done = run.end
    return "".join(out) + text[done:]


@functools.lru_cache(maxsize=1024)
def _is_secret(key: str) -> bool:
    # Log keys are a small fixed set: each is classified once, not on every line.
    return key != "event" and _SECRET_KEYS.search(key) is not None


def prepare(logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Every line's fields in one pass: the call's context, a traceback as text, redaction, then level and time.

    One processor where there were four: the canonical line is written on every tool call, and each
    processor is another call through structlog's chain (benchmarks/tool_latency.py)."""
    merge_call_context(logger, method, event)
    if "exc_info" in event:
        # Rendered here, before redaction, so a card number in an exception's message is masked too.
        structlog.processors.format_exc_info(logger, method, event)
    redact(logger, method, event)
    structlog.processors.add_log_level(logger, method, event)
    event["timestamp"] = _timestamp()
    return event


def _json(event: Any, **_: Any) -> str:
    # orjson: a fifth of the stdlib's time for a log line (structlog's documented fast path).
    return orjson.dumps(event, default=repr).decode()


_second: list[Any] = [None, ""]  # the last whole second formatted: [epoch second, "YYYY-MM-DDTHH:MM:SS"]


def _timestamp() -> str:
    """ISO 8601 UTC with microseconds, as structlog's TimeStamper(fmt="iso", utc=True) writes it.

    The date and time to the second are formatted once per second, not on every line."""
    now = time.time()
    second = int(now)
    if second != _second[0]:
        _second[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    return f"{_second[1]}.{int((now - second) * 1_000_000):06d}Z"


_HANDLER = "mcp_payments"


def configure(level: str = "INFO") -> None:
    """structlog's lines, and the standard library's (uvicorn's, the SDK's warnings), rendered alike to stderr.

    Other libraries' records below WARNING are dropped (the SDK logs every request at INFO); uvicorn's are kept
    at `level` (its start, its access lines), since uvicorn is run with log_config=None (cli.py)."""
    handler_level = getattr(logging, level.upper(), logging.INFO)
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False) if sys.stderr.isatty() else structlog.processors.JSONRenderer(_json)
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, prepare],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    handler.set_name(_HANDLER)
    root = logging.getLogger()
    for previous in [h for h in root.handlers if h.get_name() == _HANDLER]:
        root.removeHandler(previous)  # configured again (tests): one handler of ours, others' left alone
    root.addHandler(handler)
    root.setLevel(max(handler_level, logging.WARNING))
    logging.getLogger("uvicorn").setLevel(handler_level)
    structlog.configure(
        processors=[prepare, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(handler_level),
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,  # configured once per process, before the first log line
    )
