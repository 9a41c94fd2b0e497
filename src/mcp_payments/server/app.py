"""build_server(): the MCPServer with every tool of this deployment registered on it, and its callers checked.

Every request finds its caller again (server/callers.py): tools/list shows it only the tools its role may
call, and a call of any other tool is refused as a protocol error naming the role needed and the caller's.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.request_state import RequestStateSecurity
from mcp.types import Tool
from pydantic import ValidationError

from mcp_payments import __version__
from mcp_payments.config import Settings
from mcp_payments.domain.errors import NotAuthenticated, ToolDisabled
from mcp_payments.server import errors, live, resources, views
from mcp_payments.server.access import Access, process_access
from mcp_payments.server.callers import Callers, log_fields, serving
from mcp_payments.server.elicitation import Asking, asking
from mcp_payments.server.progress import reporting
from mcp_payments.server.registry import Toolbox, ToolSpec, log_tool_call
from mcp_payments.services.access import Caller
from mcp_payments.services.call_stats import CallStats
from mcp_payments.services.container import Services
from mcp_payments.services.controls import SpendingControls

INSTRUCTIONS = """\
Payment tools on a double-entry ledger. Amounts are exact: give `amount` as a decimal string
("12.34") or `amount_minor` as integer minor units (1234), never a float. Every tool that changes
state takes an optional `idempotency_key`: reuse it when you retry, and the first result comes
back (`deduplicated: true`) instead of a second effect. Errors are JSON {code, message, retryable,
details}; the message says what to do next. The tools you are shown are those your role may call;
`whoami` says who the server takes you for.
"""


class PaymentsServer(MCPServer[Any]):
    def __init__(
        self,
        *,
        callers: Callers,
        hidden: dict[str, str],
        specs: dict[str, ToolSpec],
        asking: dict[str, Asking],
        stats: CallStats | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__("mcp-payments", **kwargs)
        self.stats = stats  # counts the calls refused before a tool runs (the Toolbox counts the others)
        self.callers = callers
        self.hidden = hidden  # tools this deployment does not expose, and why (filled by Toolbox.add)
        self.specs = specs  # the tools it does expose (filled by Toolbox.add)
        self.asking = asking  # what each spend's asking function runs here (filled by Toolbox.add)
        self.listed: anyio.Event | None = None  # set at the first tools/list, when a start waits for it (cli.py)

    async def published_tools(self) -> list[Tool]:
        """Every tool this deployment exposes, whoever asks (export-schemas)."""
        return await super().list_tools()

    async def list_tools(self) -> list[Tool]:
        """The tools the caller of this request may call."""
        caller = await self._caller()
        tools = [t for t in await super().list_tools() if self._allows(caller, t.name)]
        if self.listed is not None:
            self.listed.set()
        return tools

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None) -> Any:
        started = time.perf_counter()
        caller = await self._caller(name, started)
        who = log_fields(caller)
        if name in self.hidden:
            self._refused(name, "tool_disabled", started)
            log_tool_call("tool_disabled", started, tool=name, **who)
            return errors.to_result(
                ToolDisabled(
                    f"{name} is not available on this server ({self.hidden[name]}); "
                    "ask the operator, or use the tools that tools/list shows"
                )
            )
        spec = self.specs.get(name)
        if spec is not None and not caller.may_call(spec.kind):
            self._refused(name, "role_required", started)
            log_tool_call("role_required", started, tool=name, **who)
            raise errors.refusal(caller.refusal(name, spec.kind))
        tool = self._tool_manager.get_tool(name)
        unknown = sorted(set(arguments) - set(tool.parameters.get("properties", {}))) if tool else []
        if unknown:
            # A mistyped argument (amount_cents) must not be silently dropped when money is at stake.
            self._refused(name, "invalid_argument", started)
            log_tool_call("invalid_argument", started, tool=name, **who)
            return errors.unknown_arguments(name, unknown)
        try:
            with serving(caller), reporting(context), asking(self.asking):
                return await super().call_tool(name, arguments, context)
        except ToolError as error:
            # Argument validation fails before our wrapper runs; answer it in the same error shape.
            if isinstance(error.__cause__, ValidationError):
                self._refused(name, "invalid_argument", started)
                log_tool_call("invalid_argument", started, tool=name, **who)
                return errors.invalid_arguments(name, error.__cause__)
            raise

    async def reader(self) -> Caller:
        """The caller of a resource read or subscription (found as for a tool call)."""
        return await self._caller()

    def _refused(self, tool: str, outcome: str, started: float) -> None:
        """Count a call refused before its tool ran: only of tools this server has (a caller's made-up names
        are not counted, or they would grow the statistics without bound)."""
        if self.stats is not None and (tool in self.specs or tool in self.hidden):
            self.stats.record(tool, outcome, time.perf_counter() - started)

    async def _caller(self, tool: str | None = None, started: float | None = None) -> Caller:
        try:
            return await self.callers.current()
        except NotAuthenticated as refused:
            if tool is not None and started is not None:
                log_tool_call("not_authenticated", started, tool=tool)
            raise errors.refusal(refused) from None

    def _allows(self, caller: Caller, tool: str) -> bool:
        spec = self.specs.get(tool)
        return spec is not None and caller.may_call(spec.kind)


def request_state_security(secret_key: bytes) -> RequestStateSecurity:
    """How the requestState of a 2026-07-28 input_required round (a held spend asking the human, server/elicitation.py)
    is sealed: under a key derived from the deployment's secret, so a client's next round may reach any replica or a
    restarted process, and a state changed by the client is refused. Ten minutes to answer (the SDK's default); the
    approval itself waits longer, for an operator."""
    key = hmac.new(secret_key, b"mcp-payments request state v1", hashlib.sha256).hexdigest()
    return RequestStateSecurity(keys=[key])


def live_bus(services: Services) -> live.LiveBus:
    """The process's bus of live updates, shared by every server built on `services` (made by the first)."""
    try:
        return services.get(live.LiveBus)
    except LookupError:
        bus = live.LiveBus()
        services.add(bus)
        return bus


def build_server(
    services: Services,
    settings: Settings,
    register: Callable[[Toolbox, Services], None],
    access: Access | None = None,
) -> tuple[PaymentsServer, Toolbox]:
    """The server with the tools that `register` adds (catalog.register_tools: every category's), for callers found
    as `access` says (default: the process's own principal, as on stdio)."""
    access = access or process_access(services, settings)

    def has_toolset(toolset: str) -> bool:
        return settings.toolsets is None or toolset in settings.toolsets

    hidden: dict[str, str] = {}
    specs: dict[str, ToolSpec] = {}
    asks: dict[str, Asking] = {}
    bus = live_bus(services)
    server = PaymentsServer(
        callers=access.callers,
        hidden=hidden,
        specs=specs,
        asking=asks,
        stats=services.get(CallStats),
        version=__version__,
        instructions=INSTRUCTIONS,
        token_verifier=access.verifier,
        auth=access.auth,
        request_state_security=request_state_security(services.secret_key),
        subscriptions=bus,
        extensions=[views.apps(has_toolset)],
    )
    live.install(server, bus)
    box = Toolbox(
        server, services.calls, settings, services.get(SpendingControls), hidden, specs, services.get(CallStats), asks
    )
    register(box, services)
    resources.register(server, services, box)
    shown = {**views.SHOWN_IN, **dict.fromkeys(box.holdable, views.APPROVAL)}  # a held call shows its approval card
    for name, uri in shown.items():
        if has_toolset(views.TOOLSETS[uri]):  # a view whose tools are left out is not offered (server/views/)
            box.show_in_view(name, uri)
    return server, box
