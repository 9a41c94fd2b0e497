"""Compliance flag tools: what the AML rules and the screenings raised, and an operator's resolution of it."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from mcp_payments.domain.compliance_flags import Disposition, Flag, FlagStatus, Rule
from mcp_payments.domain.errors import InvalidInput
from mcp_payments.server.callers import current_caller
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.models import Mutation
from mcp_payments.server.tools.params import FREE_TEXT, Cursor, Limit
from mcp_payments.services.commands import Kind
from mcp_payments.services.container import Services
from mcp_payments.services.flags import ComplianceFlags
from mcp_payments.services.ports import UnitOfWork

RuleName = Literal[
    "large_transaction",
    "structuring",
    "velocity_count",
    "velocity_amount",
    "rapid_pass_through",
    "sanctions_review",
    "sanctions_block",
]
DispositionName = Literal["false_positive", "legitimate", "escalated", "reported"]
# A time with its zone: a number (epoch seconds) or a time without a zone is refused rather than guessed.
_ISO_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$"
FlagId = Annotated[
    str,
    Field(
        pattern="^flg_[0-9A-Z]{26}$",
        max_length=30,
        description="A compliance flag id, as list_compliance_flags shows it, e.g. flg_01JB...",
    ),
]


class FlagOut(BaseModel):
    id: str
    rule: RuleName = Field(
        description="large_transaction, structuring (several movements just under the large threshold), "
        "velocity_count / velocity_amount (too many or too much within the window), rapid_pass_through (money "
        "out soon after it came in), sanctions_review / sanctions_block (a screening of a payee or customer)."
    )
    status: Literal["open", "resolved"]
    subject: str = Field(description="What it is about: a wallet, a customer, or a screening (ids only).")
    summary: str
    principal: str = Field(description="Whose call raised it: someone else must resolve it.")
    transaction_ids: list[str] = Field(description="The journal transactions that triggered it (newest 50).")
    details: dict[str, Any]
    created_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    disposition: DispositionName | None
    note: str | None

    @classmethod
    def of(cls, f: Flag) -> "FlagOut":
        return cls(
            id=f.id,
            rule=f.rule.value,
            status=f.status.value,
            subject=f.subject,
            summary=f.summary,
            principal=f.principal,
            transaction_ids=list(f.transaction_ids),
            details=f.details,
            created_at=f.created_at,
            resolved_by=f.resolved_by,
            resolved_at=f.resolved_at,
            disposition=None if f.disposition is None else f.disposition.value,
            note=f.note,
        )


class FlagList(BaseModel):
    flags: list[FlagOut] = Field(description="Oldest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class FlagResolution(Mutation):
    flag: FlagOut

    def entity_ids(self) -> tuple[str, ...]:
        return (self.flag.id,)


def register(box: Toolbox, app: Services) -> None:
    flags = app.get(ComplianceFlags)

    @box.query(toolset="compliance", title="List compliance flags")
    async def list_compliance_flags(
        uow: UnitOfWork,
        status: Annotated[
            Literal["open", "resolved"] | None, Field(default=None, description="Only open or only resolved flags.")
        ] = None,
        rule: Annotated[RuleName | None, Field(default=None, description="Only the flags of this rule.")] = None,
        since: Annotated[
            str | None,
            Field(
                default=None,
                pattern=_ISO_TIME,
                max_length=40,
                description="Only flags raised at or after this time: ISO 8601 with a zone, e.g. 2026-01-01T00:00:00Z.",
            ),
        ] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> FlagList:
        """List the compliance flags the AML rules and sanctions screenings raised, oldest first, a page at a time.
        Open ones wait for an operator's resolve_compliance_flag."""
        page = await flags.page(
            uow,
            None if status is None else FlagStatus(status),
            None if rule is None else Rule(rule),
            None if since is None else _time(since),
            cursor,
            limit,
        )
        return FlagList(flags=[FlagOut.of(f) for f in page.items], next_cursor=page.next_cursor)

    @box.command(kind=Kind.APPROVE, toolset="compliance", title="Resolve compliance flag")
    async def resolve_compliance_flag(
        uow: UnitOfWork,
        flag_id: FlagId,
        disposition: Annotated[
            DispositionName,
            Field(
                description="false_positive (nothing suspicious), legitimate (explained and acceptable), escalated "
                "(handed on for investigation) or reported (reported to the authority)."
            ),
        ],
        note: Annotated[
            str, Field(min_length=1, max_length=1000, description="What you checked and why you decided so."), FREE_TEXT
        ],
    ) -> FlagResolution:
        """Resolve an open compliance flag with a disposition and a note; the resolution is audited and final. You
        must be an operator or admin other than the principal whose call raised the flag."""
        resolved = await flags.resolve(uow, flag_id, current_caller().principal, Disposition(disposition), note)
        return FlagResolution(flag=FlagOut.of(resolved))


def _time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"since {text!r} is not a time: give it like 2026-01-01T00:00:00Z", field="since") from None
