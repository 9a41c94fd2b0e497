"""Registering tools: one classification drives annotations, read-only mode and the call pipeline.

A tool is a function that takes a unit of work and its typed arguments and returns its output model.
It is registered as a query (`Toolbox.query`: run in a read-only unit of work) or as a command
(`Toolbox.command`: dispatched by name, run once per idempotency key with its audit record); which
path a tool takes follows from its registration and its kind, never from what its body calls.
Every call gets the same treatment: text checked and free text masked, bound log context (the tool, the
caller's principal and credential), one canonical log line, domain errors mapped to tool errors at one
boundary (server/errors.py). Who may call a tool is checked before it runs (server/app.py).
"""

from __future__ import annotations

import functools
import inspect
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, get_origin

import structlog
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from mcp_payments.config import Settings
from mcp_payments.domain.cards import mask_card_numbers
from mcp_payments.domain.errors import DomainError
from mcp_payments.domain.limits import Counts
from mcp_payments.domain.text import check_text
from mcp_payments.logging import bind_call, unbind_call
from mcp_payments.server import errors
from mcp_payments.server.callers import current_caller, log_fields
from mcp_payments.server.elicitation import Asking, asking_tool
from mcp_payments.server.tools.models import Charted, Mutation, PendingApproval, Receipt, or_pending
from mcp_payments.server.tools.params import FreeText, IdempotencyKey, MandateId
from mcp_payments.services.approval_answers import ApprovalAnswers
from mcp_payments.services.approvals import PENDING_APPROVAL
from mcp_payments.services.call_stats import CallStats
from mcp_payments.services.calls import CallRunner
from mcp_payments.services.commands import Command, Counting, Dispatcher, Done, Guard, Kind, Outcome
from mcp_payments.services.mandates import MANDATE_ARGUMENT
from mcp_payments.services.ports import UnitOfWork

F = TypeVar("F", bound=Callable[..., Awaitable[BaseModel]])
# Runs a command's dispatch (given as a function) and what must follow it, and returns the tool's answer.
Around = Callable[[Callable[[], Awaitable[BaseModel]]], Awaitable[BaseModel]]
log = structlog.get_logger("mcp_payments.tools")
_BUILT: dict[tuple[str | None, ...], Tool] = {}  # tools as the SDK builds them from a signature: see Toolbox._add_tool
_UOW = "uow"  # the parameter through which a tool is handed its unit of work
_KEY = "idempotency_key"  # added to every command's arguments


def annotations_for(kind: Kind, *, destructive: bool) -> ToolAnnotations:
    """Every mutating tool is idempotent under its idempotency key; no tool reaches the open world yet."""
    if not kind.mutating:
        return ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
    return ToolAnnotations(
        read_only_hint=False, destructive_hint=destructive, idempotent_hint=True, open_world_hint=False
    )


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    kind: Kind
    toolset: str
    destructive: bool
    sensitive: frozenset[str] = frozenset()
    free_text: frozenset[str] = frozenset()


def free_text_arguments(signature: inspect.Signature) -> frozenset[str]:
    """The arguments declared as free text (FREE_TEXT in their Annotated type)."""
    return frozenset(
        name
        for name, parameter in signature.parameters.items()
        if get_origin(parameter.annotation) is Annotated
        and any(isinstance(meta, FreeText) for meta in parameter.annotation.__metadata__)
    )


class Toolbox:
    def __init__(
        self,
        server: MCPServer[Any],
        calls: CallRunner,
        settings: Settings,
        guard: Guard,
        hidden: dict[str, str] | None = None,
        specs: dict[str, ToolSpec] | None = None,
        stats: CallStats | None = None,
        asking: dict[str, Asking] | None = None,
    ) -> None:
        self.server = server
        self.calls = calls
        self.settings = settings
        self.dispatcher = Dispatcher(calls, guard)
        self.specs = {} if specs is None else specs  # the tools this deployment exposes
        self.hidden = {} if hidden is None else hidden  # tools this deployment does not expose, and why
        self.stats = stats  # counts every call (get_tool_metrics, /metrics)
        # Set when the approvals are wired (server/tools/approvals.py): a held spend may then ask the human in the
        # chat (server/elicitation.py), unless MCP_PAYMENTS_APPROVAL_MODE=queue.
        self.answers: ApprovalAnswers | None = None
        self.asking = {} if asking is None else asking  # what each spend tool's asking function runs on this server
        self.holdable: list[str] = []  # money tools whose call may be held for approval (their result may say so)

    def exposes(self, kind: Kind, toolset: str) -> bool:
        if self.settings.read_only and kind.mutating:
            return False
        return self.settings.toolsets is None or toolset in self.settings.toolsets

    def query(self, *, toolset: str, title: str, snapshot: bool = True, kind: Kind = Kind.READ) -> Callable[[F], F]:
        """Register a read tool. It is handed a read-only unit of work if it takes `uow` (snapshot=False: it
        reads with one statement and needs no transaction). kind=OVERSEE: it reads everyone's records, an
        operator's."""
        if kind.mutating:
            raise ValueError(f"a {kind} tool is registered with command(), not query()")

        def register(fn: F) -> F:
            signature = inspect.signature(fn)
            takes_uow = _UOW in signature.parameters

            async def run(kwargs: dict[str, Any]) -> BaseModel:
                if not takes_uow:
                    return await fn(**kwargs)
                return await self.calls.read(lambda uow: fn(uow, **kwargs), snapshot=snapshot)

            self._add(fn, ToolSpec(fn.__name__, kind, toolset, False), title, _without_uow(signature), run)
            return fn

        return register

    def command(
        self,
        *,
        kind: Kind,
        toolset: str,
        title: str,
        destructive: bool = False,
        sensitive: tuple[str, ...] = (),
        counts: Counting | None = None,
        around: Around | None = None,
    ) -> Callable[[F], F]:
        """Register a write or money tool: each call becomes a Command dispatched to `fn` by the tool's name,
        once per idempotency key, with its audit record. `fn` returns a Mutation model; `sensitive` arguments
        (a card number) are kept only as keyed hashes. A money tool says how its amount `counts` against its
        caller's spending limits (as spend, as a refund, or not at all). `around` is given the dispatch, for work
        the command starts that runs in transactions of its own after it (advance_sandbox_clock's due work)."""
        if not kind.mutating:
            raise ValueError(f"a {kind} tool is registered with query(), not command()")

        def register(fn: F) -> F:
            name = fn.__name__
            signature = _without_uow(inspect.signature(fn))
            if not issubclass(signature.return_annotation, Mutation):
                raise TypeError(f"{name} must return a Mutation model (deduplicated, receipt, entity_ids)")
            model: type[Mutation] = signature.return_annotation
            key = inspect.Parameter(_KEY, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=IdempotencyKey)
            mandate = _mandate_parameter(counts)
            pays_under_mandate = bool(mandate)
            if pays_under_mandate and MANDATE_ARGUMENT in signature.parameters:
                raise TypeError(f"{name}: {MANDATE_ARGUMENT} is added to every spend tool; name the argument otherwise")
            public = signature.replace(parameters=[*signature.parameters.values(), *mandate, key])
            spec = ToolSpec(name, kind, toolset, destructive, frozenset(sensitive))

            async def handle(uow: UnitOfWork, arguments: Any) -> Done:
                # The guard reads the mandate a spend cites (services/controls.py); the tool itself never sees it.
                mandate_id = arguments.get(MANDATE_ARGUMENT) if pays_under_mandate else None
                if pays_under_mandate:
                    arguments = {k: v for k, v in arguments.items() if k != MANDATE_ARGUMENT}
                result = await fn(uow, **arguments)
                assert isinstance(result, Mutation)
                entities = (*result.entity_ids(), *([mandate_id] if mandate_id is not None else []))
                return Done(result.stored(), entities, result, result.audit_outcome())

            async def run(kwargs: dict[str, Any]) -> BaseModel:
                if around is None:
                    return await dispatch(kwargs)
                return await around(lambda: dispatch(kwargs))

            async def dispatch(kwargs: dict[str, Any]) -> BaseModel:
                key = kwargs.pop(_KEY, None)
                caller = current_caller()
                command = Command(
                    name, caller.principal, kwargs, key, spec.sensitive, caller.credential, caller.role.value
                )
                outcome = await self.dispatcher.dispatch(command)
                if outcome.response.get("status") == PENDING_APPROVAL:
                    return _pending(outcome)
                if isinstance(outcome.value, Mutation):
                    return outcome.value.model_copy(update={"receipt": Receipt(**outcome.response["receipt"])})
                # A replay: the first answer comes back from storage, read by today's model (fields added
                # since have defaults, so an answer stored by an older version still reads).
                return model.model_validate({**outcome.response, "deduplicated": True})

            # A spend can be held for approval, and so can a call with a review (create_customer's screening).
            held = counts is not None and (counts.counts is Counts.SPEND or counts.review is not None)
            if self._add(fn, spec, title, public, run, asks=held and self.settings.approval_mode == "elicit"):
                self.dispatcher.register(name, kind, handle, counts)
                if held:
                    # Its result is then a PendingApproval, and says so.
                    self._may_be_held(name, model)
            return fn

        return register

    def show_in_view(self, name: str, resource_uri: str, *, visibility: tuple[str, ...] | None = None) -> None:
        """Show the tool's results in an MCP Apps view (server/views/): `_meta.ui.resourceUri` on this server's
        tool, and the flat key older hosts read. visibility=("app",): only the view is shown the tool, not the model.
        A tool this deployment does not expose is left alone."""
        tool = self.server._tool_manager.get_tool(name)
        if tool is None:
            return
        ui: dict[str, Any] = {"resourceUri": resource_uri}
        if visibility is not None:
            ui["visibility"] = list(visibility)
        tool.meta = {**(tool.meta or {}), "ui": ui, "ui/resourceUri": resource_uri}

    def _may_be_held(self, name: str, model: type[Mutation]) -> None:
        """Publish and validate the tool's result as its own model or a PendingApproval (the SDK reads both fields
        of its metadata live)."""
        self.holdable.append(name)
        tool = self.server._tool_manager.get_tool(name)
        assert tool is not None
        assert tool.fn_metadata.output_schema is not None
        tool.fn_metadata.output_schema = or_pending(tool.fn_metadata.output_schema)
        tool.fn_metadata.output_model = model | PendingApproval

    def _add(
        self,
        fn: Callable[..., Awaitable[BaseModel]],
        spec: ToolSpec,
        title: str,
        signature: inspect.Signature,
        run: Callable[[dict[str, Any]], Awaitable[BaseModel]],
        *,
        asks: bool = False,
    ) -> bool:
        """Add the tool; `asks`: a held call asks the human in the chat (server/elicitation.py)."""
        if not self.exposes(spec.kind, spec.toolset):
            self.hidden[spec.name] = "read-only mode" if self.settings.read_only and spec.kind.mutating else "toolsets"
            return False
        spec = ToolSpec(
            spec.name, spec.kind, spec.toolset, spec.destructive, spec.sensitive, free_text_arguments(signature)
        )

        async def call(**kwargs: Any) -> BaseModel | CallToolResult:
            return await self._run(spec, run, kwargs)

        # The MCP tool: fn's own arguments (without the unit of work), and what the SDK reads of a function.
        call.__name__, call.__doc__ = spec.name, fn.__doc__
        call.__signature__ = signature  # type: ignore[attr-defined]  # read by inspect.signature, as the SDK does
        if asks:

            async def treated(decide: Callable[[], Awaitable[BaseModel]]) -> BaseModel | CallToolResult:
                return await self._run(spec, lambda _: decide(), {})

            self.asking[spec.name] = Asking(functools.partial(self._run, spec, run), treated, lambda: self.answers)
        self._add_tool(call, spec, title, inspect.getdoc(fn), signature, asks=asks)
        self.specs[spec.name] = spec
        return True

    def _add_tool(
        self,
        call: Callable[..., Any],
        spec: ToolSpec,
        title: str,
        description: str | None,
        signature: inspect.Signature,
        *,
        asks: bool = False,
    ) -> None:
        """Add `call` as the MCP tool. The SDK builds pydantic models from the signature for every tool of every
        server built (about 80 tools: most of what building a server costs, paid again by each test and each
        server a test starts); a tool whose name, texts and signature are the same as one built before takes a
        copy of that one's metadata with its own function. `asks`: the tool is the spend's asking function
        (server/elicitation.py), which finds this server's pipeline at call time, so it is shared the same way."""
        annotations = annotations_for(spec.kind, destructive=spec.destructive)
        key = (spec.name, title, description, repr(annotations), str(signature), "asks" if asks else None)
        built = _BUILT.get(key)
        if built is None:
            function: Callable[..., Any] = call
            if asks:
                function = asking_tool(spec.name, signature)
                function.__doc__ = call.__doc__
            built = Tool.from_function(
                function,
                name=spec.name,
                title=title,
                description=description,
                annotations=annotations,
                structured_output=True,
            )
            _BUILT[key] = built
        manager = self.server._tool_manager
        if manager.get_tool(spec.name) is None:
            # A copy of the metadata: _may_be_held replaces its output schema on this server's tool only. An asking
            # tool keeps its shared function (its resolvers are in the metadata, and find this server at call time).
            fn = built.fn if asks else call
            tool = built.model_copy(update={"fn": fn, "fn_metadata": built.fn_metadata.model_copy()})
            manager._tools[spec.name] = tool  # the SDK's add_tool takes a function, not a built Tool

    async def _run(
        self, spec: ToolSpec, run: Callable[[dict[str, Any]], Awaitable[BaseModel]], kwargs: dict[str, Any]
    ) -> BaseModel | CallToolResult:
        started = time.perf_counter()
        log_context = bind_call(tool=spec.name, **log_fields(current_caller()))
        outcome, deduplicated = "ok", False
        keyed = spec.kind.mutating and kwargs.get(_KEY) is not None
        try:
            result = await run(self._clean(spec, kwargs))
            deduplicated = isinstance(result, Mutation) and result.deduplicated
            if isinstance(result, Charted) and (charted := result.charted()) is not None:
                return charted
            return result
        except DomainError as error:
            outcome = error.code
            return errors.to_result(error, keyed=keyed)
        except Exception:
            outcome = "internal_error"
            log.exception("tool_crashed")
            return errors.internal_error()
        finally:
            if self.stats is not None:
                self.stats.record(spec.name, outcome, time.perf_counter() - started)
            log_tool_call(outcome, started, deduplicated=deduplicated)
            unbind_call(log_context)

    @staticmethod
    def _clean(spec: ToolSpec, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Refuse control characters in any text; mask card numbers typed into free text (a memo, a name).

        Only free text is rewritten: an id or an idempotency key is compared exactly, so it is never
        changed. The declared card fields reach the provider whole and are kept only as keyed hashes."""
        cleaned = dict(kwargs)
        for name, value in kwargs.items():
            if isinstance(value, str):
                free = name in spec.free_text
                check_text(name, value, free_text=free)
                if free:
                    cleaned[name] = mask_card_numbers(value)
        return cleaned


def _pending(outcome: Outcome) -> CallToolResult:
    """A held call's answer: a result (not an error) that says it waits for approval, in the tool's output schema."""
    body = PendingApproval.model_validate({**outcome.response, "deduplicated": outcome.deduplicated})
    structured = body.model_dump(mode="json")
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(structured))], structured_content=structured
    )


def _mandate_parameter(counts: Counting | None) -> list[inspect.Parameter]:
    """A counted spend tool takes an optional mandate to pay under (services/mandates.py)."""
    if counts is None or counts.counts is not Counts.SPEND:
        return []
    return [inspect.Parameter(MANDATE_ARGUMENT, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=MandateId)]


def _without_uow(signature: inspect.Signature) -> inspect.Signature:
    return signature.replace(parameters=[p for p in signature.parameters.values() if p.name != _UOW])


def log_tool_call(outcome: str, started: float, *, deduplicated: bool = False, **context: str) -> None:
    """The one canonical line per tool call; tool and principal come bound to the context or in `context`."""
    log.info(
        "tool_call",
        outcome=outcome,
        deduplicated=deduplicated,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        **context,
    )
