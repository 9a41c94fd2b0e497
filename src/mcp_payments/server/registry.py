"""Registering tools: one classification drives annotations, read-only mode and the call pipeline.

Every tool goes through `Toolbox.add`, which wraps it so that each call gets the same
treatment: bound log context, one canonical log line, domain errors mapped to tool errors
at one boundary (server/errors.py), and, for mutating tools, idempotency plus the audit chain.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import inspect
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, TypeVar, get_origin

import structlog
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel

from mcp_payments.config import Settings
from mcp_payments.domain.cards import mask_card_numbers
from mcp_payments.domain.errors import DomainError
from mcp_payments.domain.text import check_text
from mcp_payments.logging import bind_call, unbind_call
from mcp_payments.server import errors
from mcp_payments.server.tools.models import Receipt
from mcp_payments.server.tools.params import FreeText
from mcp_payments.services.calls import Call, CallRunner
from mcp_payments.services.ports import UnitOfWork

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
log = structlog.get_logger("mcp_payments.tools")


class ToolKind(StrEnum):
    READ = "read"
    WRITE = "write"  # changes state but moves no money
    MONEY = "money"  # moves or reserves money
    ADMIN = "admin"

    @property
    def mutating(self) -> bool:
        return self is not ToolKind.READ


def annotations_for(kind: ToolKind, *, destructive: bool) -> ToolAnnotations:
    """Every mutating tool is idempotent under its idempotency key; no tool reaches the open world yet."""
    if kind is ToolKind.READ:
        return ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
    return ToolAnnotations(
        read_only_hint=False, destructive_hint=destructive, idempotent_hint=True, open_world_hint=False
    )


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    kind: ToolKind
    toolset: str
    destructive: bool
    sensitive: tuple[str, ...] = ()
    free_text: frozenset[str] = frozenset()


def free_text_arguments(fn: Callable[..., Any]) -> frozenset[str]:
    """The arguments of `fn` declared as free text (FREE_TEXT in their Annotated type)."""
    return frozenset(
        name
        for name, parameter in inspect.signature(fn).parameters.items()
        if get_origin(parameter.annotation) is Annotated
        and any(isinstance(meta, FreeText) for meta in parameter.annotation.__metadata__)
    )


_current: ContextVar[Call] = ContextVar("mcp_payments_call")


class Toolbox:
    def __init__(
        self,
        server: MCPServer[Any],
        calls: CallRunner,
        settings: Settings,
        secret_key: bytes,
        hidden: dict[str, str] | None = None,
    ) -> None:
        self.server = server
        self.calls = calls
        self.settings = settings
        self.secret_key = secret_key
        self.specs: dict[str, ToolSpec] = {}
        self.hidden = {} if hidden is None else hidden  # tools this deployment does not expose, and why

    def exposes(self, kind: ToolKind, toolset: str) -> bool:
        if self.settings.read_only and kind.mutating:
            return False
        return self.settings.toolsets is None or toolset in self.settings.toolsets

    def add(
        self,
        fn: Callable[..., Awaitable[BaseModel]],
        *,
        kind: ToolKind,
        toolset: str,
        title: str,
        destructive: bool = False,
        sensitive: tuple[str, ...] = (),
    ) -> None:
        """Register `fn` as a tool. `sensitive` arguments (a card number) are kept only as keyed hashes."""
        if not self.exposes(kind, toolset):
            self.hidden[fn.__name__] = "read-only mode" if self.settings.read_only and kind.mutating else "toolsets"
            return
        spec = ToolSpec(fn.__name__, kind, toolset, destructive, sensitive, free_text_arguments(fn))

        @functools.wraps(fn)
        async def call(**kwargs: Any) -> BaseModel | CallToolResult:
            return await self._run(spec, fn, kwargs)

        self.server.add_tool(
            call,
            name=spec.name,
            title=title,
            description=inspect.getdoc(fn),
            annotations=annotations_for(kind, destructive=destructive),
            structured_output=True,
        )
        self.specs[spec.name] = spec

    async def _run(
        self, spec: ToolSpec, fn: Callable[..., Awaitable[BaseModel]], kwargs: dict[str, Any]
    ) -> BaseModel | CallToolResult:
        principal = self.settings.principal
        started = time.perf_counter()
        log_context = bind_call(tool=spec.name, principal=principal)
        outcome, deduplicated, token = "ok", False, None
        try:
            kwargs = self._clean(spec, kwargs)
            # Only a mutating call needs its identity (for idempotency and the audit chain); reads skip it.
            if spec.kind.mutating:
                token = _current.set(self._identify(spec, principal, kwargs))
            result = await fn(**kwargs)
            if token is not None:
                deduplicated = bool(getattr(result, "deduplicated", False))
            return result
        except DomainError as error:
            outcome = error.code
            return errors.to_result(error, keyed=spec.kind.mutating and kwargs.get("idempotency_key") is not None)
        except Exception:
            outcome = "internal_error"
            log.exception("tool_crashed")
            return errors.internal_error()
        finally:
            log_tool_call(outcome, started, deduplicated=deduplicated)
            unbind_call(log_context)
            if token is not None:
                _current.reset(token)

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

    def _identify(self, spec: ToolSpec, principal: str, kwargs: dict[str, Any]) -> Call:
        key = kwargs.get("idempotency_key")
        arguments = {k: v for k, v in kwargs.items() if k != "idempotency_key" and v is not None}
        for name in spec.sensitive:
            if name in arguments:
                # Retries still match (same card, same hash) but the stored arguments reveal nothing.
                digest = hmac.new(self.secret_key, str(arguments[name]).encode(), hashlib.sha256).hexdigest()
                arguments[name] = f"hmac:{digest[:32]}"
        return Call(principal, spec.name, arguments, key)

    async def mutate(self, operation: Callable[[UnitOfWork], Awaitable[T]], present: Callable[[T], M]) -> M:
        """Run a mutating tool's operation once per idempotency key; returns the (first) result."""
        fresh: M | None = None

        async def run(uow: UnitOfWork) -> BaseModel:
            nonlocal fresh
            fresh = present(await operation(uow))
            return fresh

        outcome = await self.calls.mutate(_current.get(), run)
        if not outcome.deduplicated:
            assert fresh is not None
            return fresh.model_copy(update={"receipt": Receipt(**outcome.response["receipt"])})
        # A replay: the first result comes back from storage; rebuild it as the tool's model.
        model: type[M] = getattr(present, "__self__")  # noqa: B009  # present is always a model's classmethod
        return model.model_validate({**outcome.response, "deduplicated": True})

    async def read(self, operation: Callable[[UnitOfWork], Awaitable[T]], *, snapshot: bool = True) -> T:
        return await self.calls.read(operation, snapshot=snapshot)


def log_tool_call(outcome: str, started: float, *, deduplicated: bool = False, **context: str) -> None:
    """The one canonical line per tool call; tool and principal come bound to the context or in `context`."""
    log.info(
        "tool_call",
        outcome=outcome,
        deduplicated=deduplicated,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        **context,
    )
