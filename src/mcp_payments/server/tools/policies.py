"""Spending policies as the tools take and show them (the controls toolset)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from mcp_payments.domain.limits import Policy
from mcp_payments.server.tools.models import MoneyOut, Mutation
from mcp_payments.services.controls import Budget

RoleName = Literal["viewer", "agent", "operator", "admin"]
PrincipalName = Annotated[
    str,
    Field(
        pattern=r"^(key|local|oauth|cli):[\x21-\x7e]{1,190}$",
        description="A principal as whoami and the audit log name it: key:<name>, local:<user> or oauth:<subject>.",
    ),
]
LimitAmount = Annotated[
    str | None,
    Field(
        default=None,
        pattern=r"^\d{1,16}(\.\d{1,6})?$",
        description='A decimal string in the policy\'s currency, e.g. "100.00"; "0" lets nothing through; omit for '
        "no such limit.",
    ),
]
PayeeList = Annotated[
    list[Annotated[str, Field(pattern=r"^((wal|cus)_[0-9A-Za-z]{1,40}|external)$")]],
    Field(max_length=100),
]

AMOUNT_LIMITS = ("max_per_call", "daily", "monthly", "per_payee_daily", "refund_max_per_call", "refund_daily")


def _money(minor: int | None, currency: str) -> MoneyOut | None:
    return None if minor is None else MoneyOut.of(minor, currency)


class PolicyOut(BaseModel):
    subject: str = Field(description="The principal it applies to, or role:<role> (the default for that role).")
    currency: str
    max_per_call: MoneyOut | None = Field(description="The most one call may spend; null: no such limit.")
    daily: MoneyOut | None = Field(description="The most spent in any 24 hours (rolling).")
    monthly: MoneyOut | None = Field(description="The most spent in any 30 days (rolling).")
    per_payee_daily: MoneyOut | None = Field(description="The most spent to one payee in any 24 hours.")
    velocity: int | None = Field(description="The most counted money calls in any minute.")
    refund_max_per_call: MoneyOut | None
    refund_daily: MoneyOut | None = Field(description="The most refunded in any 24 hours.")
    approval_above: MoneyOut | None = Field(
        description="A spend above it waits for the approval of an operator or admin other than the caller."
    )
    allowed_payees: list[str] | None = Field(description="Only these payees may be paid; null: any not denied.")
    denied_payees: list[str]
    expires_at: datetime | None = Field(description="After it, every counted call is refused until a new policy.")
    updated_at: datetime | None
    updated_by: str | None

    @classmethod
    def of(cls, p: Policy) -> PolicyOut:
        c = p.currency
        return cls(
            subject=p.subject,
            currency=c,
            **{name: _money(getattr(p, name), c) for name in AMOUNT_LIMITS},
            velocity=p.velocity,
            approval_above=_money(p.approval_above, c),
            allowed_payees=None if p.allowed_payees is None else sorted(p.allowed_payees),
            denied_payees=sorted(p.denied_payees),
            expires_at=p.expires_at,
            updated_at=p.updated_at,
            updated_by=p.updated_by,
        )


class BudgetOut(BaseModel):
    policy: PolicyOut
    applies_as: Literal["own", "role_default"] = Field(
        description="own: set for this principal; role_default: the default of its role."
    )
    remaining_today: MoneyOut | None = Field(description="What the rolling 24-hour limit lets through now.")
    remaining_month: MoneyOut | None = Field(description="What the rolling 30-day limit lets through now.")
    refund_remaining_today: MoneyOut | None
    calls_left_this_minute: int | None

    @classmethod
    def of(cls, budget: Budget) -> BudgetOut:
        p, u, c = budget.policy, budget.usage, budget.policy.currency
        return cls(
            policy=PolicyOut.of(p),
            applies_as="role_default" if p.role_default else "own",
            remaining_today=_left(p.daily, u.spent_day, c),
            remaining_month=_left(p.monthly, u.spent_month, c),
            refund_remaining_today=_left(p.refund_daily, u.refunded_day, c),
            calls_left_this_minute=None if p.velocity is None else max(p.velocity - u.calls_minute, 0),
        )


def _left(limit: int | None, used: int, currency: str) -> MoneyOut | None:
    return None if limit is None else MoneyOut.of(max(limit - used, 0), currency)


class PolicyResult(Mutation):
    policy: PolicyOut | None = Field(description="The policy now in force for the subject; null once removed.")
    removed: bool = False

    def entity_ids(self) -> tuple[str, ...]:
        return ()  # a policy has no id: its subject and currency are in the audit record's arguments


class SpendingPolicies(BaseModel):
    budgets: list[BudgetOut] = Field(
        description="For a principal: the policy in force in each currency that has one, with what is left now."
    )
    role_defaults: list[PolicyOut] = Field(description="For a role: its default policies.")
