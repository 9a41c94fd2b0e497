"""MCP progress notifications for the call being served: a long tool reports how far it got.

The server's call_tool keeps the request's Context for the duration of the call; `report` sends a progress
notification through it, which the SDK leaves out unless the client asked (a progressToken in the request).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import structlog
from mcp.server.mcpserver import Context

log = structlog.get_logger("mcp_payments.tools")
_context: ContextVar[Context[Any, Any] | None] = ContextVar("mcp_payments_progress", default=None)


@contextmanager
def reporting(context: Context[Any, Any] | None) -> Iterator[None]:
    token = _context.set(context)
    try:
        yield
    finally:
        _context.reset(token)


async def report(progress: float, total: float | None, message: str | None) -> None:
    """A progress notification for the call being served, if its client asked for them. Never fails the call: a
    client that went away only stops hearing of it."""
    context = _context.get()
    if context is None:
        return
    try:
        await context.report_progress(progress, total, message)
    except Exception:
        log.info("progress_not_sent", exc_info=True)
