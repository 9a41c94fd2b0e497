"""build_server(): the MCPServer with every tool of this deployment registered on it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from mcp_payments import __version__
from mcp_payments.config import Settings
from mcp_payments.domain.errors import ToolDisabled
from mcp_payments.server import errors
from mcp_payments.server.registry import Toolbox, log_tool_call
from mcp_payments.services.container import Services

INSTRUCTIONS = """\
Payment tools on a double-entry ledger. Amounts are exact: give `amount` as a decimal string
("12.34") or `amount_minor` as integer minor units (1234), never a float. Every tool that changes
state takes an optional `idempotency_key`: reuse it when you retry, and the first result comes
back (`deduplicated: true`) instead of a second effect. Errors are JSON {code, message, retryable,
details}; the message says what to do next.
"""


class PaymentsServer(MCPServer[Any]):
    def __init__(self, *, principal: str, hidden: dict[str, str], **kwargs: Any) -> None:
        super().__init__("mcp-payments", **kwargs)
        self.principal = principal  # named in the log line of a call whose arguments are refused here
        self.hidden = hidden  # tools this deployment does not expose, and why (filled by Toolbox.add)

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None) -> Any:
        started = time.perf_counter()
        if name in self.hidden:
            log_tool_call("tool_disabled", started, tool=name, principal=self.principal)
            return errors.to_result(
                ToolDisabled(
                    f"{name} is not available on this server ({self.hidden[name]}); "
                    "ask the operator, or use the tools that tools/list shows"
                )
            )
        tool = self._tool_manager.get_tool(name)
        unknown = sorted(set(arguments) - set(tool.parameters.get("properties", {}))) if tool else []
        if unknown:
            # A mistyped argument (amount_cents) must not be silently dropped when money is at stake.
            log_tool_call("invalid_argument", started, tool=name, principal=self.principal)
            return errors.unknown_arguments(name, unknown)
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as error:
            # Argument validation fails before our wrapper runs; answer it in the same error shape.
            if isinstance(error.__cause__, ValidationError):
                log_tool_call("invalid_argument", started, tool=name, principal=self.principal)
                return errors.invalid_arguments(name, error.__cause__)
            raise


def build_server(
    services: Services, settings: Settings, register: Callable[[Toolbox, Services], None]
) -> tuple[PaymentsServer, Toolbox]:
    """The server with the tools that `register` adds (catalog.register_tools: every category's)."""
    hidden: dict[str, str] = {}
    server = PaymentsServer(principal=settings.principal, hidden=hidden, version=__version__, instructions=INSTRUCTIONS)
    box = Toolbox(server, services.calls, settings, hidden)
    register(box, services)
    return server, box
