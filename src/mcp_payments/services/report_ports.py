"""The compliance report's repository port, reached as `uow.repo(REPORT)`: counts and capped lists of a period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mcp_payments.services.ports import Repo


@dataclass(frozen=True, slots=True)
class Count:
    """How many rows share `key` (a rule, status and disposition; a decision; a list version)."""

    key: tuple[str, ...]
    count: int


@dataclass(frozen=True, slots=True)
class FlagLine:
    id: str
    rule: str
    status: str
    disposition: str | None
    subject: str
    transaction_ids: tuple[str, ...]
    amount_usd: str | None  # a large transaction's amount, in USD terms (its flag's details)
    created_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class Erased:
    customer_id: str
    erased_at: datetime


class ReportRepository(Protocol):
    """Every method reads rows with start <= time < end; the lists are oldest first, then by id."""

    async def flag_counts(self, start: datetime, end: datetime) -> list[Count]: ...
    async def flags(self, start: datetime, end: datetime, rule: str | None, limit: int) -> list[FlagLine]: ...
    async def screening_counts(self, start: datetime, end: datetime) -> list[Count]: ...
    async def erasure_count(self, start: datetime, end: datetime) -> int: ...
    async def erasures(self, start: datetime, end: datetime, limit: int) -> list[Erased]: ...
    async def fraud_counts(self, start: datetime, end: datetime) -> list[Count]: ...


REPORT: Repo[ReportRepository] = Repo("compliance_report")
