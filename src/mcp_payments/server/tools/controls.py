"""Controls tools: who the server takes the caller for, and the spending policies it is held to."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from mcp_payments.domain.errors import InvalidInput
from mcp_payments.domain.limits import Policy, check_payee, role_subject
from mcp_payments.domain.mandates import Mandate
from mcp_payments.domain.money import currency as currency_of
from mcp_payments.domain.money import parse_limit
from mcp_payments.domain.roles import Role
from mcp_payments.server.callers import current_caller
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.models import MoneyOut
from mcp_payments.server.tools.params import CurrencyCode
from mcp_payments.server.tools.policies import (
    BudgetOut,
    LimitAmount,
    PayeeList,
    PolicyOut,
    PolicyResult,
    PrincipalName,
    RoleName,
    SpendingPolicies,
)
from mcp_payments.services.access import Caller
from mcp_payments.services.commands import Kind
from mcp_payments.services.container import Services
from mcp_payments.services.controls import SpendingControls
from mcp_payments.services.mandates import Mandates
from mcp_payments.services.ports import UnitOfWork

WHOAMI_MANDATES = 20  # the active mandates whoami shows, newest first; list_mandates shows every one


class ActiveMandate(BaseModel):
    """A mandate you may cite now (mandate_id on a spend tool), and what is left of it."""

    id: str
    description: str
    remaining: MoneyOut = Field(description="What may still be spent under it this period.")
    max_per_payment: MoneyOut
    period: Literal["once", "daily", "monthly"] = Field(
        description="once: what is spent never comes back; daily: resets at 00:00 UTC; monthly: on the 1st, UTC."
    )
    resets_at: datetime | None = Field(description="When remaining is back to its maximum; null: never.")
    expires_at: datetime
    allowed_payees: list[str] | None = Field(description="Only these may be paid under it; null: any.")

    @classmethod
    def of(cls, m: Mandate, now: datetime) -> "ActiveMandate":
        return cls(
            id=m.id,
            description=m.description,
            remaining=MoneyOut.of(m.remaining(now), m.currency),
            max_per_payment=MoneyOut.of(m.max_per_payment, m.currency),
            period=m.period.value,
            resets_at=m.resets_at(now),
            expires_at=m.expires_at,
            allowed_payees=None if m.allowed_payees is None else sorted(m.allowed_payees),
        )


class Identity(BaseModel):
    principal: str = Field(
        description="Who you are to this server, as the audit log records you: key:<name> (an API key), "
        "oauth:<subject> (a JWT) or local:<user> (stdio without a key, or http with --no-auth)."
    )
    role: Literal["viewer", "agent", "operator", "admin"] = Field(
        description="viewer reads; agent also changes state and moves money; operator also approves and runs "
        "the deployment's machinery (the sandbox clock); admin also administers."
    )
    credential_id: str | None = Field(
        description="The id of the credential you authenticated with (key_... for an API key, jwt:... for a JWT), "
        "as logs and the audit log name it; null without one."
    )
    credential_type: Literal["api_key", "jwt"] | None
    expires_at: datetime | None = Field(description="When your credential stops working; null: not before revoked.")
    toolsets: list[str] = Field(description="The toolsets in which you may call at least one tool.")
    tool_kinds: list[Kind] = Field(description="The kinds of tool your role may call.")
    auth_mode: Literal["bearer", "none", "process"] = Field(
        description="How this transport knows who you are: bearer (http/sse: a token on every request), none "
        "(http on a loopback address with --no-auth: whoever connects is the local user) or process (stdio: the "
        "key in MCP_PAYMENTS_API_KEY or the local OS user)."
    )
    spending: list[BudgetOut] = Field(
        default_factory=list,
        description="The spending policy you are held to in each currency that has one, and what is left of it now; "
        "empty: no limits apply to you.",
    )
    mandates: list[ActiveMandate] = Field(
        default_factory=list,
        description=f"Your active mandates (up to {WHOAMI_MANDATES}, newest first; list_mandates shows "
        "them all): a spend that cites one as mandate_id is held to it instead of your spending policy.",
    )


def subject_of(principal: str | None, role: str | None) -> str:
    if principal is not None and role is None:
        return principal
    if role is not None and principal is None:
        return role_subject(Role(role))
    raise InvalidInput("give exactly one of `principal` (one caller) or `role` (the default for every caller of it)")


def instant(text: str | None) -> datetime | None:
    """An ISO 8601 instant with its time zone (kept as text in the command's arguments, which are JSON)."""
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise InvalidInput(
            f"expires_at {text[:40]!r} is not an ISO 8601 time with a time zone, e.g. 2026-12-31T23:59:59Z"
        )
    return at


def check_reader(caller: Caller, subject: str) -> None:
    """Anyone may read their own policy; another principal's, or a role's defaults, needs operator or higher."""
    if subject != caller.principal and not caller.role.covers(Role.OPERATOR):
        raise caller.refusal("get_spending_policy for another principal or a role", Kind.APPROVE)


def register(box: Toolbox, app: Services) -> None:
    controls = app.get(SpendingControls)
    granted = app.get(Mandates)

    @box.query(toolset="controls", title="Who am I")
    async def whoami(uow: UnitOfWork) -> Identity:
        """Say who this server takes you for: your principal, role and credential, what your role lets you call,
        the spending limits you are held to with what is left of them, and your active mandates. Use it when a tool
        you expected is missing from tools/list, a call is refused for its role, or before spending."""
        caller = current_caller()
        budgets = await controls.budgets(uow, caller.principal, caller.role)
        now = granted.clock.now()
        active = await granted.active(uow, caller.principal, WHOAMI_MANDATES)
        allowed = [spec for spec in box.specs.values() if caller.may_call(spec.kind)]
        return Identity(
            principal=caller.principal,
            role=caller.role.value,
            credential_id=caller.credential,
            credential_type=caller.credential_type.value if caller.credential_type else None,
            expires_at=caller.expires_at,
            toolsets=sorted({spec.toolset for spec in allowed}),
            tool_kinds=sorted({spec.kind.value for spec in allowed}),
            auth_mode=caller.auth_mode.value,
            spending=[BudgetOut.of(b) for b in budgets],
            mandates=[ActiveMandate.of(m, now) for m in active],
        )

    @box.command(kind=Kind.ADMIN, toolset="controls", title="Set spending policy")
    async def set_spending_policy(
        uow: UnitOfWork,
        currency: CurrencyCode,
        principal: Annotated[PrincipalName | None, Field(default=None)] = None,
        role: Annotated[
            RoleName | None,
            Field(default=None, description="Set the default policy of every caller with this role instead."),
        ] = None,
        max_per_call: LimitAmount = None,
        daily: LimitAmount = None,
        monthly: LimitAmount = None,
        per_payee_daily: LimitAmount = None,
        velocity: Annotated[
            int | None, Field(default=None, strict=True, ge=0, le=100_000, description="Counted calls per minute.")
        ] = None,
        refund_max_per_call: LimitAmount = None,
        refund_daily: LimitAmount = None,
        approval_above: LimitAmount = None,
        allowed_payees: Annotated[
            PayeeList | None,
            Field(default=None, description="Only these may be paid (wal_..., cus_..., external); omit: any."),
        ] = None,
        denied_payees: Annotated[PayeeList | None, Field(default=None, description="These may never be paid.")] = None,
        expires_at: Annotated[
            str | None,
            Field(
                default=None,
                max_length=40,
                description="ISO 8601 with a time zone, e.g. 2026-12-31T23:59:59Z: after it every counted call is "
                "refused until a new policy is set.",
            ),
        ] = None,
        remove: Annotated[
            bool, Field(default=False, description="Remove the subject's policy in this currency instead.")
        ] = False,
    ) -> PolicyResult:
        """Set (create or replace, whole) the spending policy of one principal, or the default of a role, in one
        currency; limits you omit are not limited. Money tools check it in the same transaction as the money they
        move: over a limit, a call is refused with limit_exceeded (which limit, what remains, when it frees up);
        a payee off its lists gets payee_not_allowed. remove=true removes it."""
        subject = subject_of(principal, role)
        code = currency_of(currency).code
        if remove:
            await controls.remove_policy(uow, subject, code)
            return PolicyResult(policy=None, removed=True)
        expiry = instant(expires_at)

        def minor(text: str | None) -> int | None:
            return None if text is None else parse_limit(text, code)

        policy = Policy(
            subject,
            code,
            max_per_call=minor(max_per_call),
            daily=minor(daily),
            monthly=minor(monthly),
            per_payee_daily=minor(per_payee_daily),
            refund_max_per_call=minor(refund_max_per_call),
            refund_daily=minor(refund_daily),
            approval_above=minor(approval_above),
            velocity=velocity,
            allowed_payees=None if allowed_payees is None else frozenset(map(check_payee, allowed_payees)),
            denied_payees=frozenset(map(check_payee, denied_payees or [])),
            expires_at=expiry,
        )
        return PolicyResult(policy=PolicyOut.of(await controls.put_policy(uow, policy, current_caller().principal)))

    @box.query(toolset="controls", title="Get spending policy")
    async def get_spending_policy(
        uow: UnitOfWork,
        principal: Annotated[
            PrincipalName | None, Field(default=None, description="Whose policy; omit for your own.")
        ] = None,
        role: Annotated[RoleName | None, Field(default=None, description="A role's default policies.")] = None,
    ) -> SpendingPolicies:
        """Read the spending policy a principal is held to in each currency, with what is left of each limit now
        (omit both arguments for your own), or a role's default policies. Reading anyone but yourself needs
        role operator or higher."""
        caller = current_caller()
        if principal is None and role is None:
            principal = caller.principal
        subject = subject_of(principal, role)
        check_reader(caller, subject)
        if role is not None:
            return SpendingPolicies(
                budgets=[], role_defaults=[PolicyOut.of(p) for p in await controls.policies(uow, subject)]
            )
        assert principal is not None
        own_role = caller.role if principal == caller.principal else None
        budgets = await controls.budgets(uow, principal, own_role)
        return SpendingPolicies(budgets=[BudgetOut.of(b) for b in budgets], role_defaults=[])
