"""generate_compliance_report: one period's compliance picture, structured and as a CSV for an auditor."""

from datetime import datetime
from typing import Annotated, Any, Literal

from mcp.types import CallToolResult, EmbeddedResource, TextContent, TextResourceContents
from pydantic import BaseModel, Field, PrivateAttr

from mcp_payments.domain.errors import InvalidRange
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.models import Charted
from mcp_payments.services import compliance_report as cr
from mcp_payments.services.commands import Kind
from mcp_payments.services.container import Services
from mcp_payments.services.ports import UnitOfWork
from mcp_payments.services.report_ports import Count, FlagLine

# A time with its zone: a time without one is refused rather than guessed (as list_compliance_flags does).
_ISO_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$"


def _time(description: str) -> Any:
    return Field(pattern=_ISO_TIME, max_length=40, description=description)


class Counted(BaseModel):
    key: list[str] = Field(description="What the rows share: see the list's description.")
    count: int


class FlagItem(BaseModel):
    id: str
    rule: str
    status: str
    disposition: str | None
    subject: str = Field(description="A wallet, customer or screening id: never a name.")
    transaction_ids: list[str]
    amount_usd: str | None = Field(description="A large transaction's amount in USD terms, as a decimal string.")
    created_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, f: FlagLine) -> "FlagItem":
        return cls(
            **{name: getattr(f, name) for name in cls.model_fields} | {"transaction_ids": list(f.transaction_ids)}
        )


class LargeTransactions(BaseModel):
    threshold_usd: str = Field(description="The AML large-transaction threshold, in USD terms.")
    count: int
    items: list[FlagItem] = Field(description="Their large_transaction flags, oldest first, at most `limit`.")


class Flags(BaseModel):
    total: int
    by_rule_status_disposition: list[Counted] = Field(description="key: [rule, status, disposition or ''].")
    items: list[FlagItem] = Field(description="Oldest first, at most `limit`; `total` counts them all.")


class Screenings(BaseModel):
    total: int
    by_decision: list[Counted] = Field(description="key: [clear | review | block].")
    by_list_version: list[Counted] = Field(description="key: [the SHA-256 of the sanctions list version used].")


class ErasureItem(BaseModel):
    customer_id: str
    erased_at: datetime


class Erasures(BaseModel):
    count: int
    items: list[ErasureItem] = Field(description="Customer ids and times only, oldest first, at most `limit`.")


class FraudAlerts(BaseModel):
    total: int = Field(description="Payments scored in the period.")
    by_decision: list[Counted] = Field(description="key: [allow | review | block].")


class AuditChain(BaseModel):
    valid: bool
    records_checked: int
    first_broken_seq: int | None
    head_seq: int
    head_hash: str
    unsealed_records: int
    mode: Literal["full", "from_checkpoint"] = Field(
        default="full",
        description="full: every record recomputed from genesis; from_checkpoint: the records after the checkpoint "
        "the last valid verify_audit_chain signed (see proves).",
    )
    verified_from_seq: int = Field(default=1, description="The first record recomputed.")
    witness_problems: list[str] = Field(
        default_factory=list,
        description="The last verification's checkpoint, when the chain no longer holds it (records removed or the "
        "chain rewritten).",
    )
    proves: str = Field(default="", description="What this verification shows, and what it does not.")


class ComplianceReportOut(Charted):
    start: datetime = Field(description="The period's start, included.")
    end: datetime = Field(description="The period's end, excluded.")
    large_transactions: LargeTransactions
    flags: Flags
    screenings: Screenings
    erasures: Erasures
    fraud_alerts: FraudAlerts
    audit_chain: AuditChain = Field(
        description="verify_audit_chain's recomputation of the chain, now: from its last checkpoint, or whole."
    )
    csv_uri: str = Field(description="The CSV beside this result (an embedded text/csv resource): one row per item.")
    _csv: str = PrivateAttr(default="")

    def charted(self) -> CallToolResult:
        # The toolbox answers a Charted result with its extra content blocks: here the CSV, not a chart.
        return CallToolResult(
            content=[
                TextContent(type="text", text=self.model_dump_json()),
                EmbeddedResource(
                    type="resource",
                    resource=TextResourceContents(uri=self.csv_uri, mime_type="text/csv", text=self._csv),
                ),
            ],
            structured_content=self.model_dump(mode="json"),
        )

    @classmethod
    def of(cls, r: cr.ComplianceReport) -> "ComplianceReportOut":
        c = r.chain
        out = cls(
            start=r.start,
            end=r.end,
            large_transactions=LargeTransactions(
                threshold_usd=r.large_threshold_usd, count=r.large_count, items=[FlagItem.of(f) for f in r.large]
            ),
            flags=Flags(
                total=r.flag_total,
                by_rule_status_disposition=_counted(r.flag_counts),
                items=[FlagItem.of(f) for f in r.flags],
            ),
            screenings=Screenings(
                total=r.screening_total,
                by_decision=_counted(r.screening_decisions),
                by_list_version=_counted(r.screening_lists),
            ),
            erasures=Erasures(
                count=r.erasure_count,
                items=[ErasureItem(customer_id=e.customer_id, erased_at=e.erased_at) for e in r.erasures],
            ),
            fraud_alerts=FraudAlerts(total=r.fraud_total, by_decision=_counted(r.fraud_decisions)),
            audit_chain=AuditChain(
                valid=c.valid,
                records_checked=c.records_checked,
                first_broken_seq=c.first_broken_seq,
                head_seq=c.head_seq,
                head_hash=c.head_hash,
                unsealed_records=c.unsealed_records,
                mode="full" if c.resumed_from is None else "from_checkpoint",
                verified_from_seq=c.verified_from_seq,
                witness_problems=c.witness_problems,
                proves=c.proves,
            ),
            csv_uri=f"report://compliance/{r.start.isoformat()}/{r.end.isoformat()}.csv",
        )
        out._csv = cr.to_csv(r)
        return out


def _parse(name: str, text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRange(f"{name} {text!r} is not a time: give it like 2026-01-01T00:00:00Z", field=name) from None


def _counted(counts: list[Count]) -> list[Counted]:
    return [Counted(key=list(c.key), count=c.count) for c in counts]


def register(box: Toolbox, app: Services) -> None:
    reports = app.get(cr.ComplianceReports)

    @box.query(toolset="compliance", title="Generate compliance report", kind=Kind.OVERSEE)
    async def generate_compliance_report(
        uow: UnitOfWork,
        from_time: Annotated[
            str, _time("The period's start, included: ISO 8601 with a zone, e.g. 2026-01-01T00:00:00Z.")
        ],
        to_time: Annotated[
            str, _time("The period's end, excluded: ISO 8601 with a zone; at most 5 years after from_time.")
        ],
        limit: Annotated[
            int,
            Field(
                default=100,
                strict=True,
                ge=1,
                le=500,
                description="Most items per list, 1-500 (counts are always whole).",
            ),
        ] = 100,
        full_chain: Annotated[
            bool,
            Field(
                description="Recompute the audit chain from genesis. Without it, from the checkpoint the last valid "
                "verify_audit_chain signed: a change to an older record's content then shows only with full_chain."
            ),
        ] = False,
    ) -> ComplianceReportOut:
        """A period's compliance report for an auditor (operators and admins): large transactions, compliance flags
        with their dispositions, sanctions screenings per decision and list version, customer erasures (ids and
        times), fraud decisions, and the audit chain's verification. Returns the structure and the same as a CSV
        (an embedded text/csv resource, one row per item with a `section` column)."""
        start, end = _parse("from_time", from_time), _parse("to_time", to_time)
        return ComplianceReportOut.of(await reports.report(uow, start, end, limit, full_chain=full_chain))
