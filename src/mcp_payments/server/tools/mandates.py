"""Mandates tools (the controls toolset): a human grants an agent bounded authority, the agent reads and cites it."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from mcp_payments.domain.limits import check_payee
from mcp_payments.domain.mandates import Mandate, Period, Status
from mcp_payments.domain.money import currency as currency_of
from mcp_payments.domain.money import parse_amount
from mcp_payments.domain.roles import Role
from mcp_payments.server.callers import current_caller
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.controls import instant
from mcp_payments.server.tools.models import MoneyOut, Mutation
from mcp_payments.server.tools.params import FREE_TEXT, ID_CHARS, CurrencyCode, Cursor, Limit
from mcp_payments.server.tools.policies import PayeeList, PrincipalName
from mcp_payments.services.access import Caller
from mcp_payments.services.commands import Kind
from mcp_payments.services.container import Services
from mcp_payments.services.mandates import Mandates
from mcp_payments.services.pages import Page
from mcp_payments.services.ports import UnitOfWork

MandateId = Annotated[
    str, Field(pattern=f"^mdt_{ID_CHARS}$", max_length=44, description="A mandate id, e.g. mdt_01JB...")
]
MandateAmount = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        pattern=r"^\d{1,16}(\.\d{1,6})?$",
        description='A decimal string in the mandate\'s currency, e.g. "100.00" (no more decimals than it has).',
    ),
]
PeriodName = Literal["once", "daily", "monthly"]
StatusName = Literal["active", "revoked", "expired"]


class MandateOut(BaseModel):
    id: str
    principal: str = Field(description="The only principal whose money calls may cite it.")
    currency: str
    description: str
    status: StatusName = Field(description="active; revoked (by a human); expired (past expires_at).")
    allowed_payees: list[str] | None = Field(description="Only these payees may be paid under it; null: any.")
    max_per_payment: MoneyOut
    max_total: MoneyOut = Field(description="The most spent under it per period (once: in all).")
    period: PeriodName = Field(
        description="once: max_total never comes back; daily: it resets at 00:00 UTC; monthly: on the 1st, UTC."
    )
    spent_this_period: MoneyOut
    remaining: MoneyOut = Field(description="What may still be spent under it this period.")
    resets_at: datetime | None = Field(description="When remaining is back to max_total; null: never.")
    expires_at: datetime
    created_at: datetime
    created_by: str = Field(description="Who granted it.")
    revoked_at: datetime | None
    revoked_by: str | None

    @classmethod
    def of(cls, m: Mandate, now: datetime) -> "MandateOut":
        c = m.currency
        return cls(
            id=m.id,
            principal=m.principal,
            currency=c,
            description=m.description,
            status=m.status(now).value,
            allowed_payees=None if m.allowed_payees is None else sorted(m.allowed_payees),
            max_per_payment=MoneyOut.of(m.max_per_payment, c),
            max_total=MoneyOut.of(m.max_total, c),
            period=m.period.value,
            spent_this_period=MoneyOut.of(m.spent_now(now), c),
            remaining=MoneyOut.of(m.remaining(now), c),
            resets_at=m.resets_at(now),
            expires_at=m.expires_at,
            created_at=m.created_at,
            created_by=m.created_by,
            revoked_at=m.revoked_at,
            revoked_by=m.revoked_by,
        )


class MandateResult(Mutation):
    mandate: MandateOut

    def entity_ids(self) -> tuple[str, ...]:
        return (self.mandate.id,)


class MandateList(BaseModel):
    mandates: list[MandateOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null: no more.")

    @classmethod
    def of(cls, page: Page[Mandate], now: datetime) -> "MandateList":
        return cls(mandates=[MandateOut.of(m, now) for m in page.items], next_cursor=page.next_cursor)


def _reads_all(caller: Caller) -> bool:
    """Operators and admins read every mandate; anyone else only those granted to them."""
    return caller.role.covers(Role.OPERATOR)


def register(box: Toolbox, app: Services) -> None:
    mandates = app.get(Mandates)
    clock = app.clock

    @box.command(kind=Kind.APPROVE, toolset="controls", title="Create mandate")
    async def create_mandate(
        uow: UnitOfWork,
        principal: Annotated[PrincipalName, Field(description="The agent principal it is granted to (see whoami).")],
        currency: CurrencyCode,
        description: Annotated[
            str, Field(min_length=1, max_length=500, description="What it is for, in a human's words."), FREE_TEXT
        ],
        max_total: MandateAmount,
        expires_at: Annotated[
            str,
            Field(max_length=40, description="ISO 8601 with a time zone, e.g. 2026-12-31T23:59:59Z; at most a year."),
        ],
        period: Annotated[
            PeriodName,
            Field(default="once", description="once: max_total in all; daily or monthly: max_total per UTC period."),
        ] = "once",
        max_per_payment: Annotated[
            MandateAmount | None, Field(default=None, description="The most one payment may take; omit: max_total.")
        ] = None,
        allowed_payees: Annotated[
            PayeeList | None,
            Field(default=None, description="Only these may be paid (wal_..., cus_..., external); omit: any payee."),
        ] = None,
    ) -> MandateResult:
        """Grant an agent principal a bounded authority to spend (operator or admin): one currency, optional
        payees, a maximum per payment, a maximum in total per period, an expiry. The agent cites its id as
        mandate_id in a money call; that call is then held to the mandate instead of its spending policy, and
        debits it in the same transaction."""
        code = currency_of(currency).code
        expiry = instant(expires_at)
        assert expiry is not None  # a required argument
        granted = await mandates.grant(
            uow,
            principal=principal,
            currency=code,
            description=description,
            max_per_payment=None if max_per_payment is None else parse_amount(max_per_payment, None, code).minor,
            max_total=parse_amount(max_total, None, code).minor,
            period=Period(period),
            expires_at=expiry,
            allowed_payees=None if allowed_payees is None else frozenset(map(check_payee, allowed_payees)),
            by=current_caller().principal,
        )
        return MandateResult(mandate=MandateOut.of(granted, clock.now()))

    @box.query(toolset="controls", title="Get mandate", snapshot=False)
    async def get_mandate(uow: UnitOfWork, mandate_id: MandateId) -> MandateOut:
        """Read one mandate: its bounds, its status and what is left of it this period. An agent reads only the
        mandates granted to it."""
        caller = current_caller()
        reader = None if _reads_all(caller) else caller.principal
        return MandateOut.of(await mandates.get(uow, mandate_id, reader), clock.now())

    @box.query(toolset="controls", title="List mandates", snapshot=False)
    async def list_mandates(
        uow: UnitOfWork,
        principal: Annotated[
            PrincipalName | None,
            Field(default=None, description="Only this grantee's (operator or admin; an agent always sees its own)."),
        ] = None,
        status: Annotated[StatusName | None, Field(default=None, description="Only those in this status.")] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> MandateList:
        """List mandates, newest first: an agent sees those granted to it, an operator or admin everyone's (or
        one principal's). Use it to find a mandate_id to pay under, and what is left of each."""
        caller = current_caller()
        if not _reads_all(caller):
            if principal is not None and principal != caller.principal:
                raise caller.refusal("list_mandates for another principal", Kind.APPROVE)
            principal = caller.principal
        wanted = None if status is None else Status(status)
        return MandateList.of(await mandates.search(uow, principal, wanted, cursor, limit), clock.now())

    @box.command(kind=Kind.APPROVE, toolset="controls", title="Revoke mandate", destructive=True)
    async def revoke_mandate(uow: UnitOfWork, mandate_id: MandateId) -> MandateResult:
        """Revoke a mandate at once (operator or admin): a money call citing it afterwards is refused with
        mandate_revoked; a call already in flight completes within it or is refused, never more. Revoking a
        revoked mandate changes nothing."""
        revoked = await mandates.revoke(uow, mandate_id, current_caller().principal)
        return MandateResult(mandate=MandateOut.of(revoked, clock.now()))
