"""The monitoring category's repository port, reached as `uow.repo(MONITORING)`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from mcp_payments.services.ports import Repo


@dataclass(frozen=True, slots=True)
class Mark:
    """The last run of something watched: when, whether it found things sound, and a line about it."""

    name: str
    at: datetime
    ok: bool
    detail: str | None


@dataclass(frozen=True, slots=True)
class Authorizations:
    """Authorization attempts answered by the provider in a period: approved and declined (3-D Secure steps still
    waiting for the customer count as neither, as in Stripe's authorization rate)."""

    approved: int
    declined: int

    @property
    def total(self) -> int:
        return self.approved + self.declined


@dataclass(frozen=True, slots=True)
class BindingFindings:
    """What the journal and the audit log disagree on, up to `limit` of each kind, and how many of each."""

    bound_twice: list[tuple[str, str, str]] = field(default_factory=list)  # (transaction, earlier record, record)
    bound_twice_total: int = 0
    journal: list[tuple[str, str | None]] = field(default_factory=list)  # (transaction, record; None: unaudited)
    journal_total: int = 0
    missing: list[tuple[str, str]] = field(default_factory=list)  # (record, transaction gone from the journal)
    missing_total: int = 0


class MonitoringRepository(Protocol):
    async def put_mark(self, mark: Mark) -> None:
        """Create or replace the mark of its name."""
        ...

    async def mark(self, name: str) -> Mark | None: ...
    async def authorizations(self, since: datetime, until: datetime) -> Authorizations:
        """The attempts answered after `since` and up to `until` included."""
        ...

    async def journal_findings(self, limit: int) -> BindingFindings:
        """Where the journal and the audit records' bindings disagree, both ways (adapters/db/journal_bindings.py)."""
        ...


MONITORING: Repo[MonitoringRepository] = Repo("monitoring")
