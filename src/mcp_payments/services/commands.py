"""Calls as data: a mutating call is a Command, dispatched by name to the handler registered for its tool.

A command holds everything needed to run it again later (who, which tool, with what arguments, under
which idempotency key), so it can be stored and dispatched when it is approved. The tool's kind comes
from its registration, never from what its body does: a command is always run once per key and
audited, a query never writes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from mcp_payments.domain.limits import Counts, Spend
from mcp_payments.services.ports import UnitOfWork


class Kind(StrEnum):
    """One classification drives annotations, read-only mode, the dispatch path and the role a caller needs
    (services/access.py)."""

    READ = "read"
    WRITE = "write"  # changes state but moves no money
    MONEY = "money"  # moves or reserves money
    OPERATE = "operate"  # runs the deployment's own machinery for everyone (the sandbox clock): an operator's
    APPROVE = "approve"  # decides on what another principal asked for (approvals: no such tool yet)
    ADMIN = "admin"  # administers the deployment (keys, limits, settings: no such tool yet)

    @property
    def mutating(self) -> bool:
        return self is not Kind.READ


@dataclass(frozen=True, slots=True)
class Command:
    """Who calls which tool with what: all it takes to run the call, now or later."""

    tool: str
    principal: str
    arguments: Mapping[str, Any]  # as validated, JSON-compatible
    idempotency_key: str | None = None
    sensitive: frozenset[str] = frozenset()  # arguments kept only as keyed hashes (a card number)
    credential: str | None = None  # the id of the credential the principal authenticated with (an API key's id)
    role: str | None = None  # the caller's role when it called: which default spending policy applies to it


@dataclass(frozen=True, slots=True)
class Done:
    """What a handler did: its answer as JSON (what a replay gives back), the entities it touched (for the
    audit record), and the answer as the caller's own object, handed back untouched on a first run."""

    response: dict[str, Any]
    entities: tuple[str, ...]
    value: object = None


@dataclass(frozen=True, slots=True)
class Outcome:
    response: dict[str, Any]
    deduplicated: bool
    value: object = None  # Done.value of a first run; None for a replay


Handler = Callable[[UnitOfWork, Mapping[str, Any]], Awaitable[Done]]
# What a money call would count, read from its arguments (and, for "all of this hold", from the database); None
# when there is nothing to count (an unknown hold: the handler then says so).
SpendOf = Callable[[UnitOfWork, Mapping[str, Any]], Awaitable[Spend | None]]


@dataclass(frozen=True, slots=True)
class Counting:
    """How a money tool's amount counts against its caller's spending limits, declared when it is registered."""

    counts: Counts
    spend: SpendOf | None = None  # required unless counts is NONE

    def __post_init__(self) -> None:
        if (self.spend is None) != (self.counts is Counts.NONE):
            raise ValueError("a counted money tool says what it spends; an uncounted one says nothing")


NOT_COUNTED = Counting(Counts.NONE)


class Guard(Protocol):
    """Checks a counted call against its caller's limits, in the call's own transaction, before its handler runs
    (services/controls.py): raises a DomainError to refuse it, or records what it counts."""

    async def check(self, uow: UnitOfWork, command: Command, spend: Spend) -> None: ...


class Runner(Protocol):
    """What runs an operation once per key, with its audit record (services/calls.py CallRunner)."""

    async def mutate(self, command: Command, operation: Callable[[UnitOfWork], Awaitable[Done]]) -> Outcome: ...


@dataclass
class Dispatcher:
    """The handlers of every mutating tool, by name. A money tool's call is checked by the guard first, in the
    same unit of work: after its idempotency key is claimed (a replay never gets here, so never counts twice)
    and before anything moves."""

    runner: Runner
    guard: Guard
    handlers: dict[str, tuple[Kind, Handler, Counting]] = field(default_factory=dict)

    def register(self, tool: str, kind: Kind, handler: Handler, counting: Counting | None = None) -> None:
        if not kind.mutating:
            raise ValueError(f"{tool} is a {kind} tool: only write and money tools are dispatched as commands")
        if tool in self.handlers:
            raise ValueError(f"{tool} has a handler already")
        if (kind is Kind.MONEY) != (counting is not None):
            raise ValueError(f"{tool}: a money tool, and only a money tool, declares how its amount counts")
        self.handlers[tool] = (kind, handler, counting or NOT_COUNTED)

    def kind_of(self, tool: str) -> Kind:
        return self.handlers[tool][0]

    def counting_of(self, tool: str) -> Counting:
        return self.handlers[tool][2]

    async def dispatch(self, command: Command) -> Outcome:
        """Run `command` by its tool's name: once per idempotency key, within its caller's limits, with its audit
        record."""
        _, handler, counting = self.handlers[command.tool]

        async def operation(uow: UnitOfWork) -> Done:
            if counting.spend is not None and (spend := await counting.spend(uow, command.arguments)) is not None:
                await self.guard.check(uow, command, spend)
            return await handler(uow, command.arguments)

        return await self.runner.mutate(command, operation)
