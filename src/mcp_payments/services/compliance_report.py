"""The compliance report of a period: large transactions, flags and their dispositions, screenings, erasures, fraud
decisions and the audit chain's verification, as one structure and as a CSV an auditor opens in a spreadsheet.

Counts are aggregated by the database; lists are capped at `limit` and always come with the full count, so a busy
period never makes an unbounded answer. Nothing in it depends on when it is asked: the same period gives the same
report (the chain's head moves only as records are sealed, and it is reported as it is).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mcp_payments.domain.compliance_flags import Rule
from mcp_payments.domain.errors import InvalidRange
from mcp_payments.domain.money import format_minor
from mcp_payments.domain.periods import MAX_RANGE_DAYS
from mcp_payments.services.compliance import AuditService, ChainVerdict
from mcp_payments.services.ports import UnitOfWork
from mcp_payments.services.report_ports import REPORT, Count, Erased, FlagLine

CSV_COLUMNS = ("section", "item", "id", "rule", "status", "disposition", "decision", "count", "amount_usd", "at")


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    start: datetime
    end: datetime
    large_threshold_usd: str
    large_count: int
    large: list[FlagLine]
    flag_counts: list[Count]  # (rule, status, disposition or "")
    flag_total: int
    flags: list[FlagLine]
    screening_decisions: list[Count]  # (decision,)
    screening_lists: list[Count]  # (list sha256,)
    screening_total: int
    erasure_count: int
    erasures: list[Erased]
    fraud_decisions: list[Count]  # (decision,)
    fraud_total: int
    chain: ChainVerdict


def period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """start..end (end excluded), refused when inverted, empty or longer than the analytics tools allow."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidRange("give from and to with a zone, e.g. 2026-01-01T00:00:00Z", start=str(start), end=str(end))
    if end <= start:
        raise InvalidRange(
            f"from {start.isoformat()} is not before to {end.isoformat()}: give the earlier time first",
            start=start.isoformat(),
            end=end.isoformat(),
        )
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise InvalidRange(
            f"{start.isoformat()}..{end.isoformat()} is longer than 5 years: ask for at most 5 years at a time",
            start=start.isoformat(),
            end=end.isoformat(),
        )
    return start, end


class ComplianceReports:
    def __init__(self, audit: AuditService, large_minor_usd: int) -> None:
        self.audit = audit
        self.large_minor_usd = large_minor_usd

    async def report(
        self, uow: UnitOfWork, start: datetime, end: datetime, limit: int, *, full_chain: bool = False
    ) -> ComplianceReport:
        """Everything the period holds; lists of at most `limit` items, oldest first, beside their counts. The chain
        is verified as verify_audit_chain does: from the last verified checkpoint, or from genesis (full_chain)."""
        start, end = period(start, end)
        repo = uow.repo(REPORT)
        flag_counts = await repo.flag_counts(start, end)
        screenings = await repo.screening_counts(start, end)
        fraud = await repo.fraud_counts(start, end)
        return ComplianceReport(
            start=start,
            end=end,
            large_threshold_usd=format_minor(self.large_minor_usd, 2),
            # A movement at or above the threshold is exactly what raises a large_transaction flag (domain/aml.py),
            # one per transaction, with its amount in USD terms: the flags are the list of large movements.
            large_count=sum(c.count for c in flag_counts if c.key[0] == Rule.LARGE_TRANSACTION.value),
            large=await repo.flags(start, end, Rule.LARGE_TRANSACTION.value, limit),
            flag_counts=flag_counts,
            flag_total=sum(c.count for c in flag_counts),
            flags=await repo.flags(start, end, None, limit),
            screening_decisions=_sum_by(screenings, 0),
            screening_lists=_sum_by(screenings, 1),
            screening_total=sum(c.count for c in screenings),
            erasure_count=await repo.erasure_count(start, end),
            erasures=await repo.erasures(start, end, limit),
            fraud_decisions=fraud,
            fraud_total=sum(c.count for c in fraud),
            chain=await self.audit.verify(uow, full=full_chain),
        )


def _sum_by(counts: Sequence[Count], position: int) -> list[Count]:
    totals: dict[str, int] = {}
    for c in counts:
        totals[c.key[position]] = totals.get(c.key[position], 0) + c.count
    return [Count((key,), n) for key, n in sorted(totals.items())]


def to_csv(r: ComplianceReport) -> str:
    """One row per item, its `section` first; totals are rows of section `summary`, so a capped list still shows
    how many there were."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()

    def row(section: str, item: str, **values: object) -> None:
        writer.writerow({"section": section, "item": item, **{k: "" if v is None else v for k, v in values.items()}})

    row("summary", "period", at=f"{r.start.isoformat()}/{r.end.isoformat()}")
    row("summary", "large_transactions", count=r.large_count, amount_usd=r.large_threshold_usd)
    row("summary", "flags", count=r.flag_total)
    row("summary", "screenings", count=r.screening_total)
    row("summary", "erasures", count=r.erasure_count)
    row("summary", "fraud_assessments", count=r.fraud_total)
    for f in r.large:
        at = f.created_at.isoformat()
        row("large_transaction", " ".join(f.transaction_ids), id=f.id, amount_usd=f.amount_usd, at=at)
    for c in r.flag_counts:
        row("flag_count", c.key[0], rule=c.key[0], status=c.key[1], disposition=c.key[2], count=c.count)
    for f in r.flags:
        row(
            "flag",
            f.subject,
            id=f.id,
            rule=f.rule,
            status=f.status,
            disposition=f.disposition,
            at=f.created_at.isoformat(),
        )
    for c in r.screening_decisions:
        row("screening_decision", c.key[0], decision=c.key[0], count=c.count)
    for c in r.screening_lists:
        row("screening_list", c.key[0], count=c.count)
    for e in r.erasures:
        row("erasure", e.customer_id, id=e.customer_id, at=e.erased_at.isoformat())
    for c in r.fraud_decisions:
        row("fraud_decision", c.key[0], decision=c.key[0], count=c.count)
    chain = r.chain
    row("audit_chain", "valid", status="valid" if chain.valid else "broken", count=chain.records_checked)
    row("audit_chain", "head", id=chain.head_hash, count=chain.head_seq)
    return out.getvalue()
