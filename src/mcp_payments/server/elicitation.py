"""The human in the loop, in the chat: a spend held for approval asks the human at the requester's client whether
to run it, through the SDK's Resolve/Elicit, which works in both protocol eras (issue 10, item 4).

A spend tool's MCP function takes two resolved parameters, filled by the SDK before its body runs:

    attempt   the call's whole pipeline (Toolbox._run: checks, limits, the hold, its audit record and log line).
              Held, its approval apr_... is committed as pending before anyone is asked: a lost answer leaves it
              pending for an operator, as in queue mode.
    ask       Elicit(a question naming apr_..., ApprovalAnswer) when the approval is pending and the client declares
              form elicitation; otherwise nothing is asked.

    2025-11-25  elicitation/create is sent in the middle of the call and answered in place.
    2026-07-28  the call answers input_required; the question leaves with requestState, which the SDK seals
                (AES-GCM under a key derived from the deployment's secret, so any replica opens it) and binds to the
                tool, its arguments and an expiry. The client calls again with the answer; attempt runs again and
                the call's idempotency key (given, or derived from the arguments) answers the same apr_..., so the
                question is the same and its answer is taken. A state changed by the client fails the seal:
                "Invalid or expired requestState" (invalid params), and nothing runs.

The body then acts on the answer: accept with approve=true runs the held call once through the approve path
(services/approval_answers.py; decided_via elicitation); accept with approve=false, or decline, rejects it and the
agent is told approval_declined; cancel, no answer or a client without elicitation leaves it pending, and the
agent gets the pending_approval result. The answer takes the approval out of pending in its own transaction, so
it is redeemed once: a later round that finds the approval decided is refused (approval_not_pending).
"""

import inspect
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from mcp.server.elicitation import AcceptedElicitation, DeclinedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field, create_model

from mcp_payments.domain.approvals import Approval
from mcp_payments.domain.cards import mask_card_numbers
from mcp_payments.domain.money import Money
from mcp_payments.server.callers import current_caller
from mcp_payments.server.tools.models import Mutation, PendingApproval, Receipt
from mcp_payments.services.approval_answers import ApprovalAnswers
from mcp_payments.services.approvals import PENDING_APPROVAL, pending_result, waits_for_what
from mcp_payments.services.commands import APPROVAL_ABOVE

Answer = BaseModel | CallToolResult
Pipeline = Callable[[dict[str, Any]], Awaitable[Answer]]  # the tool's call, as Toolbox._run answers it
Treated = Callable[[Callable[[], Awaitable[BaseModel]]], Awaitable[Answer]]  # Toolbox._run around a decision
_ATTEMPT = "held_call__"  # the resolved parameters' names: never a tool argument (not in the input schema)
_ANSWER = "human_answer__"
_KEY = "idempotency_key"
_SHOWN = 80  # characters of one caller-given value in the question


_ANSWER_HELP = "Yes runs it now, once. No (or declining) rejects it; closing the question leaves it waiting."


class ApprovalAnswer(BaseModel):
    """What the human is asked: one yes/no (form elicitation takes flat primitives only; never card data)."""

    approve: bool = Field(default=True, title="Approve the held call", description=_ANSWER_HELP)


@cache
def answer_form(tool: str) -> type[ApprovalAnswer]:
    """The form of the question about a held `tool` call: its one field titled with the tool, so that a held
    create_customer is not "a payment" (a form shows the title beside the checkbox, apart from the message)."""
    approve: Any = (bool, Field(default=True, title=f"Approve {tool}", description=_ANSWER_HELP))
    return create_model(f"ApprovalAnswer_{tool}", __base__=ApprovalAnswer, approve=approve)


@dataclass(frozen=True, slots=True)
class Attempt:
    """The call as its pipeline answered it, and the approval it waits in when the human may be asked."""

    result: Answer
    approval: Approval | None = None  # pending: the question is about it
    redeemed: Approval | None = None  # a later round that finds its approval decided already


def question(approval: Approval) -> str:
    """The question, made only of the stored approval, so every round renders it the same (the SDK takes an answer
    only for the question it was given): the call that is held, why it waits, and what answering does."""
    amount = approval.money
    call = held_call(approval)
    if amount is not None and approval.held_for == APPROVAL_ABOVE:
        threshold = Money(approval.threshold, amount.currency)
        why = f"{call}, above your approval threshold of {threshold}."
    else:  # held by a review: say which, never "above a threshold of 0.00"
        why = f"{call}, which waits for {waits_for_what(approval)}."
    if amount is None:
        why += " No money moves."
    return (
        f"Your agent ({approval.principal}) asks to run {why} Approve it to run it now, once; say no to reject it. "
        f"If you do not answer, it waits as {approval.id} for an operator until {approval.expires_at.isoformat()}."
    )


def held_call(approval: Approval) -> str:
    """The held call as the human reads it: its tool, what it would spend, and what it acts on, from its stored
    arguments: each id it names, by what it names ("destination wallet wal_..."), or, naming none, the name it
    gives (create_customer); and its payee, when it has one. Generic over the arguments, so a tool made holdable
    later is described too."""
    amount = approval.money
    subject = [
        f"{key.removesuffix('_id').replace('_', ' ')} {_shown(value)}"
        for key, value in sorted(approval.arguments.items())  # as stored, not as given: every round the same
        if key.endswith("_id") and isinstance(value, str)
    ]
    if not subject and isinstance(name := approval.arguments.get("name"), str):
        subject = [f"named '{_shown(name)}'"]
    named = {value for key, value in approval.arguments.items() if key.endswith("_id")}
    if approval.payee and approval.payee not in named:  # an outside payee (a payout): what a review asks about
        subject.append(f"to {_shown(approval.payee)}")
    spends = "" if amount is None else f" for {amount}"
    return f"{approval.tool}{spends}" + (f" ({', '.join(subject)})" if subject else "")


def _shown(text: str) -> str:
    """Caller-given text as the question may show it: no card number, and short (an id not checked yet)."""
    masked = mask_card_numbers(text)
    return masked if len(masked) <= _SHOWN else masked[: _SHOWN - 1] + "…"


def can_elicit(ctx: Context[Any, Any]) -> bool:
    """The client declared form elicitation (a bare `elicitation: {}` counts, as the SDK reads it)."""
    try:
        capabilities = ctx.client_capabilities
    except ValueError:  # outside a request (MCPServer.call_tool called directly): nobody to ask
        return False
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


@dataclass(frozen=True, slots=True)
class Asking:
    """What a spend's asking function runs on one server: its pipeline, the same treatment around a decision, and
    the answers service (read at call time: the approvals are wired after some tools)."""

    pipeline: Pipeline
    treated: Treated
    answers: Callable[[], ApprovalAnswers | None]


# The asking functions of the server serving this call, by tool (set by PaymentsServer.call_tool): a spend's asking
# function and its resolvers are built once per signature and shared by every server (Toolbox._add_tool), so they
# find their server here.
_SERVING: ContextVar[Mapping[str, Asking] | None] = ContextVar("mcp_payments_asking", default=None)


@contextmanager
def asking(tools: Mapping[str, Asking]) -> Iterator[None]:
    token = _SERVING.set(tools)
    try:
        yield
    finally:
        _SERVING.reset(token)


def _serving(name: str) -> Asking:
    tools = _SERVING.get()
    if tools is None or name not in tools:
        raise RuntimeError(f"{name} is called outside its server's call_tool")
    return tools[name]


def asking_tool(name: str, signature: inspect.Signature) -> Callable[..., Awaitable[Answer]]:
    """The MCP function of spend tool `name` that asks the human about a held call: the tool's arguments
    (`signature`) and the two resolved parameters."""

    async def attempt(ctx: Context[Any, Any], **arguments: Any) -> Attempt:
        serving = _serving(name)
        chat = serving.answers()
        if chat is not None and ctx.request_state is not None and arguments.get(_KEY) is None:
            # A later round of a call without an idempotency key: its key was derived from the arguments for a
            # short window (MCP_PAYMENTS_DEDUP_WINDOW_SECONDS), which a human reading the question may outlast. The
            # approval held in the first round is found by its stored call instead, so the question stays the same.
            # (Were another one found, its question would differ and the SDK would ask again: never a wrong answer.)
            unkeyed = {k: v for k, v in arguments.items() if k != _KEY}
            waiting = await chat.waiting(name, current_caller().principal, unkeyed)
            if waiting is not None:
                return Attempt(_pending_answer(waiting), waiting)
        result = await serving.pipeline(arguments)
        approval_id = _held(result)
        if chat is None or approval_id is None:
            return Attempt(result)
        approval = await chat.approval(approval_id, current_caller().principal)
        if chat.askable(approval):
            return Attempt(result, approval)
        # The call's key answered an approval decided since: a later round presents an answer already used.
        return Attempt(result, redeemed=approval if ctx.request_state is not None else None)

    async def ask(ctx: Context[Any, Any], held: Attempt) -> Elicit[ApprovalAnswer] | None:
        if held.approval is None or not can_elicit(ctx):
            return None
        return Elicit(question(held.approval), answer_form(name))

    async def call(**kwargs: Any) -> Answer:
        held: Attempt = kwargs.pop(_ATTEMPT)
        outcome: ElicitationResult[ApprovalAnswer] = kwargs.pop(_ANSWER)
        serving = _serving(name)
        chat, treated = serving.answers(), serving.treated
        if chat is not None and held.redeemed is not None:
            refusal = chat.redeemed(held.redeemed)
            return await treated(lambda: _raise(refusal))
        if chat is None or held.approval is None:
            return held.result
        approval, credential = held.approval, current_caller().credential
        if isinstance(outcome, AcceptedElicitation) and isinstance(outcome.data, ApprovalAnswer):
            if outcome.data.approve:
                return await treated(lambda: _executed(chat, approval, credential))
            return await treated(lambda: _declined(chat, approval, credential))
        if isinstance(outcome, DeclinedElicitation):
            return await treated(lambda: _declined(chat, approval, credential))
        return held.result  # cancelled, or not asked: it waits for an operator

    names = list(signature.parameters)
    attempt.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # read by the SDK's resolver plans
        [_keyword("ctx"), *(_keyword(n) for n in names)]
    )
    attempt.__annotations__ = {"ctx": Context, "return": Attempt}
    resolved_attempt = Annotated[Attempt, Resolve(attempt)]
    ask.__annotations__ = {"ctx": Context, "held": resolved_attempt, "return": Elicit[ApprovalAnswer] | None}
    resolved_answer = Annotated[ElicitationResult[ApprovalAnswer], Resolve(ask)]
    # The SDK reads a tool's resolved parameters from its type hints, the others from its signature.
    call.__annotations__ = {_ATTEMPT: resolved_attempt, _ANSWER: resolved_answer}
    call.__name__ = name
    call.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[
            *signature.parameters.values(),
            _keyword(_ATTEMPT, resolved_attempt),
            _keyword(_ANSWER, resolved_answer),
        ]
    )
    return call


async def _executed(chat: ApprovalAnswers, approval: Approval, credential: str | None) -> BaseModel:
    executed = await chat.approve(approval, credential)
    assert isinstance(executed.value, Mutation)
    return executed.value.model_copy(update={"receipt": Receipt(**executed.receipt)})


async def _declined(chat: ApprovalAnswers, approval: Approval, credential: str | None) -> BaseModel:
    raise await chat.reject(approval, credential)


async def _raise(error: Exception) -> BaseModel:
    raise error


def _held(result: Answer) -> str | None:
    """The approval id of a held call's answer (Toolbox answers it as a CallToolResult), else None."""
    if not isinstance(result, CallToolResult) or result.is_error or result.structured_content is None:
        return None
    if result.structured_content.get("status") != PENDING_APPROVAL:
        return None
    approval_id = result.structured_content.get("approval_id")
    return approval_id if isinstance(approval_id, str) else None


def _pending_answer(approval: Approval) -> CallToolResult:
    """The pending_approval answer of a held call (as Toolbox answers its replay)."""
    body = PendingApproval.model_validate({**pending_result(approval), "deduplicated": True})
    structured = body.model_dump(mode="json")
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(structured))], structured_content=structured
    )


def _keyword(name: str, annotation: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
