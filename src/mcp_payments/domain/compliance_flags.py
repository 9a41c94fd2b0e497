"""Compliance flags: something a person in compliance must look at, raised by an AML rule (domain/aml.py) or a
sanctions screening, and resolved by an operator other than the principal whose call raised it.

    open ──resolve──> resolved   (with a disposition from DISPOSITIONS and a note; terminal)

A flag is raised once per rule per triggering set: its `key` names the set (the rule, the subject and the first
transaction of the window that triggered it), and the database keeps the key unique, so a rule that fires again
on a growing set, or a retry, adds nothing. A flag never holds personal data (no names): it names ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from mcp_payments.domain.errors import FlagAlreadyResolved, SelfResolution


class Rule(StrEnum):
    LARGE_TRANSACTION = "large_transaction"
    STRUCTURING = "structuring"
    VELOCITY_COUNT = "velocity_count"
    VELOCITY_AMOUNT = "velocity_amount"
    RAPID_PASS_THROUGH = "rapid_pass_through"  # noqa: S105  # a rule's name, not a password
    SANCTIONS_REVIEW = "sanctions_review"  # a screening came back review: the call waits for approval
    SANCTIONS_BLOCK = "sanctions_block"  # a screening came back block: the call was refused


class FlagStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Disposition(StrEnum):
    """What the reviewer concluded."""

    FALSE_POSITIVE = "false_positive"  # the rule fired on nothing suspicious (a name that only looks alike)
    LEGITIMATE = "legitimate"  # real activity of the kind the rule looks for, explained and acceptable
    ESCALATED = "escalated"  # handed on for investigation
    REPORTED = "reported"  # reported to the authority (a suspicious activity report was filed)


@dataclass(frozen=True, slots=True)
class Trigger:
    """What a rule found: the flag to raise, before it has an id."""

    rule: Rule
    subject: str  # what the flag is about: a wallet, a customer, a payee (ids only)
    key: str  # the triggering set: one flag per key
    summary: str  # one line for the reviewer, without personal data
    transaction_ids: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Flag:
    id: str
    rule: Rule
    status: FlagStatus
    subject: str
    key: str
    summary: str
    principal: str  # whose call raised it: never the one to resolve it
    transaction_ids: tuple[str, ...]
    details: dict[str, Any]
    created_at: datetime
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    disposition: Disposition | None = None
    note: str | None = None

    @classmethod
    def of(cls, flag_id: str, trigger: Trigger, principal: str, now: datetime) -> Flag:
        return cls(
            flag_id,
            trigger.rule,
            FlagStatus.OPEN,
            trigger.subject,
            trigger.key,
            trigger.summary,
            principal,
            trigger.transaction_ids,
            trigger.details,
            now,
        )


def resolve(flag: Flag, by: str, disposition: Disposition, note: str, now: datetime) -> Flag:
    """The flag resolved by `by`; refused when it is resolved already or `by` raised it."""
    if flag.status is FlagStatus.RESOLVED:
        raise FlagAlreadyResolved(
            f"{flag.id} was resolved already by {flag.resolved_by} as {flag.disposition}: nothing was changed",
            flag_id=flag.id,
            resolved_by=flag.resolved_by,
        )
    if flag.principal == by:
        raise SelfResolution(
            f"{flag.id} was raised by a call of yours ({by}): another operator or admin must resolve it",
            flag_id=flag.id,
            principal=by,
        )
    return replace(
        flag, status=FlagStatus.RESOLVED, resolved_by=by, resolved_at=now, disposition=disposition, note=note
    )
