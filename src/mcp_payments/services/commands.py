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

from mcp_payments.domain.errors import DomainError
from mcp_payments.domain.limits import Counts, Spend
from mcp_payments.services.ports import UnitOfWork


class Kind(StrEnum):
    """One classification drives annotations, read-only mode, the dispatch path and the role a caller needs
    (services/access.py)."""

    READ = "read"
    # Reads every principal's records at once (the compliance report): nothing changes, but it is an operator's.
    OVERSEE = "oversee"
    WRITE = "write"  # changes state but moves no money
    MONEY = "money"  # moves or reserves money
    OPERATE = "operate"  # runs the deployment's own machinery for everyone (the sandbox clock): an operator's
    APPROVE = "approve"  # decides on what another principal asked for (approve_request, reject_request)
    ADMIN = "admin"  # administers the deployment (limits, webhook endpoints, erasure of personal data)

    @property
    def mutating(self) -> bool:
        return self not in (Kind.READ, Kind.OVERSEE)


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
    outcome: str = "ok"  # its audit record's outcome: ok, or the decision it records (held, executed, rejected)


@dataclass(frozen=True, slots=True)
class Outcome:
    response: dict[str, Any]
    deduplicated: bool
    value: object = None  # Done.value of a first run; None for a replay


Handler = Callable[[UnitOfWork, Mapping[str, Any]], Awaitable[Done]]
# A call's review before its limits are checked (create_payment's fraud score, services/risk.py; create_customer's
# screening of the name, services/counterparties.py): it may refuse the call (a DomainError) or hold it (Held);
# `approved` (the third argument) says it runs because it was approved, so it is not held again.
Review = Callable[[UnitOfWork, Command, bool], Awaitable[None]]
# What a money call would count, read from its arguments (and, for "all of this hold", from the database); None
# when there is nothing to count (an unknown hold: the handler then says so).
SpendOf = Callable[[UnitOfWork, Mapping[str, Any]], Awaitable[Spend | None]]


@dataclass(frozen=True, slots=True)
class Counting:
    """How a money tool's amount counts against its caller's spending limits, declared when it is registered."""

    counts: Counts
    spend: SpendOf | None = None  # required unless counts is NONE
    review: Review | None = None  # runs first, in the call's unit of work

    def __post_init__(self) -> None:
        if (self.spend is None) != (self.counts is Counts.NONE):
            raise ValueError("a counted money tool says what it spends; an uncounted one says nothing")


NOT_COUNTED = Counting(Counts.NONE)


APPROVAL_ABOVE = "approval_above"  # why a call is held, unless a check says otherwise (Held.held_for)


class Held(Exception):  # not an error: the call waits for approval, and its caller gets a result
    """Raised by the guard for a call that every limit allows but approval_above, by a check (a sanctions review
    of the payee) or by a review (create_payment's fraud score in the review band, create_customer's screening of
    the name): it waits for another principal's approval instead of running. `spend` is None for a call that spends
    nothing (create_customer). `refusal` is what the caller reads where it cannot wait (no holder); `held_for` and
    `because` say why it waits, when it is not approval_above (threshold 0). `then` is given the approval's id, in
    the hold's transaction (a fraud review links its alert to the approval)."""

    def __init__(
        self,
        spend: Spend | None,
        threshold: int,
        refusal: DomainError,
        held_for: str = APPROVAL_ABOVE,
        because: str = "",
        *,
        then: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__("held for approval")
        self.spend = spend
        self.threshold = threshold
        self.refusal = refusal
        self.held_for = held_for
        self.because = because
        self.then = then


class Guard(Protocol):
    """Checks a counted call against its caller's limits, in the call's own transaction, before its handler runs
    (services/controls.py): raises a DomainError to refuse it, Held to hold it for approval, or records what it
    counts. `approved`: the call runs because it was approved, and the approval threshold does not apply."""

    async def check(self, uow: UnitOfWork, command: Command, spend: Spend, *, approved: bool = False) -> None: ...

    async def kept_failure(self, uow: UnitOfWork, command: Command, spend: Spend) -> None:
        """The checked call failed but keeps what it did (a declined card): give back what must not stay counted."""
        ...


class Check(Protocol):
    """Runs before a counted money call's guard, in its unit of work (a screening of a new payee,
    services/counterparties.py): raises a DomainError to refuse it or Held to hold it. `approved` as for Guard."""

    async def check(self, uow: UnitOfWork, command: Command, spend: Spend, *, approved: bool) -> None: ...


class Watcher(Protocol):
    """Sees what a money call did, in its unit of work, before it commits (the AML rules, services/aml.py)."""

    async def moved(self, uow: UnitOfWork, command: Command, done: Done) -> None: ...


class Holder(Protocol):
    """Stores a held call as a pending approval, in the call's own unit of work (services/approvals.py)."""

    async def hold(self, uow: UnitOfWork, command: Command, held: Held) -> Done: ...


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
    holder: Holder | None = None  # None: a held call is refused (limit_exceeded, approval_above)
    handlers: dict[str, tuple[Kind, Handler, Counting]] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    watchers: list[Watcher] = field(default_factory=list)

    def register(self, tool: str, kind: Kind, handler: Handler, counting: Counting | None = None) -> None:
        if not kind.mutating:
            raise ValueError(f"{tool} is a {kind} tool: only write and money tools are dispatched as commands")
        if tool in self.handlers:
            raise ValueError(f"{tool} has a handler already")
        if kind is Kind.MONEY and counting is None:
            raise ValueError(f"{tool}: a money tool declares how its amount counts")
        # A write tool moves no money: it may only have a review, which may hold it (create_customer's screening).
        only_review = counting is None or (counting.counts is Counts.NONE and counting.review is not None)
        if kind is not Kind.MONEY and not only_review:
            raise ValueError(f"{tool}: only a money tool counts an amount; a write tool may declare only a review")
        self.handlers[tool] = (kind, handler, counting or NOT_COUNTED)

    def kind_of(self, tool: str) -> Kind:
        return self.handlers[tool][0]

    def counting_of(self, tool: str) -> Counting:
        return self.handlers[tool][2]

    async def dispatch(self, command: Command) -> Outcome:
        """Run `command` by its tool's name: once per idempotency key, within its caller's limits, with its audit
        record."""

        async def operation(uow: UnitOfWork) -> Done:
            try:
                return await self.run_in(uow, command)
            except Held as held:
                if self.holder is None:
                    raise held.refusal from None
                # Nothing has moved: the guard holds a call before its handler runs.
                return await self.holder.hold(uow, command, held)

        return await self.runner.mutate(command, operation)

    async def run_in(self, uow: UnitOfWork, command: Command, *, approved: bool = False) -> Done:
        """Check `command` against its caller's limits and run its handler, in `uow` (no idempotency claim or
        audit record of its own). approved=True: the command runs because another principal approved it."""
        kind, handler, counting = self.handlers[command.tool]
        if counting.review is not None:
            await counting.review(uow, command, approved)
        spend = None if counting.spend is None else await counting.spend(uow, command.arguments)
        if spend is not None:
            for check in self.checks:
                await check.check(uow, command, spend, approved=approved)
            await self.guard.check(uow, command, spend, approved=approved)
        try:
            done = await handler(uow, command.arguments)
        except DomainError as error:
            if spend is not None and error.keeps_effects:  # committed as a result: nothing was paid
                await self.guard.kept_failure(uow, command, spend)
            raise
        if kind is Kind.MONEY:
            for watcher in self.watchers:
                await watcher.moved(uow, command, done)
        return done
